import type { Sql } from "../db/client.ts";
import { cipherFromEnv, type TokenCipher } from "./encryption.ts";
import { fingerprint, Secret } from "./secret.ts";

export interface RefreshTokenLink {
  token: Secret;
  version: number;
}

/**
 * Where rotating refresh tokens live: Postgres, not Redis — a refresh token cannot be re-obtained
 * the way an access token can, so it must survive a Redis restart.
 */
export interface RefreshTokenVault {
  /** The chain's current token; the env seed starts it, or replaces it when the seed changed. */
  current(credential: string, seed: Secret): Promise<RefreshTokenLink>;
  /** Stores `next` over version `fromVersion`; false when the chain has moved on since. */
  rotate(credential: string, fromVersion: number, next: string): Promise<boolean>;
}

/** Tokens are sealed before they reach the table (encryption.ts); the seed's fingerprint is of the plain seed. */
export function postgresRefreshTokens(sql: Sql, cipher: () => Promise<TokenCipher> = cachedCipher): RefreshTokenVault {
  return {
    async current(credential, seed) {
      const sealer = await cipher();
      const sealedSeed = await sealer.seal(credential, seed.reveal());
      const [row] = await sql<{ token: string; version: number }[]>`
        select token, version from peakwatch.refresh_token_current(${credential}, ${sealedSeed}, ${await fingerprint(seed.reveal())})`;
      return { token: new Secret(await sealer.open(credential, row!.token)), version: row!.version };
    },
    async rotate(credential, fromVersion, next) {
      const sealed = await (await cipher()).seal(credential, next);
      const [row] = await sql<{ version: number | null }[]>`select peakwatch.refresh_token_rotate(${credential}, ${fromVersion}, ${sealed}) as version`;
      return row?.version !== null && row?.version !== undefined;
    },
  };
}

let cipher: Promise<TokenCipher> | undefined;
function cachedCipher(): Promise<TokenCipher> {
  cipher ??= cipherFromEnv();
  // A missing key is not cached: setting it fixes the next call.
  cipher.catch(() => (cipher = undefined));
  return cipher;
}
