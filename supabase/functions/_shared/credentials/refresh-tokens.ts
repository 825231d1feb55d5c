import type { Sql } from "../db/client.ts";
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

export function postgresRefreshTokens(sql: Sql): RefreshTokenVault {
  return {
    async current(credential, seed) {
      const [row] = await sql<{ token: string; version: number }[]>`
        select token, version from peakwatch.refresh_token_current(${credential}, ${seed.reveal()}, ${await fingerprint(seed.reveal())})`;
      return { token: new Secret(row!.token), version: row!.version };
    },
    async rotate(credential, fromVersion, next) {
      const [row] = await sql<{ version: number | null }[]>`select peakwatch.refresh_token_rotate(${credential}, ${fromVersion}, ${next}) as version`;
      return row?.version !== null && row?.version !== undefined;
    },
  };
}
