import { randomBytes } from "node:crypto";
import { expect, vi } from "vitest";
import { startOAuth2StandIn, type OAuth2StandIn, type OAuth2StandInOptions } from "../../dev/auth-stand-ins/oauth2-server.ts";
import { startTradovateStandIn, type TradovateStandIn, type TradovateStandInOptions } from "../../dev/auth-stand-ins/tradovate-server.ts";
import { postgresRefreshTokens } from "../../supabase/functions/_shared/credentials/refresh-tokens.ts";
import { buildRegistry, type CredentialEntry } from "../../supabase/functions/_shared/credentials/registry.ts";
import { createCredentialStore, type CredentialStore, type CredentialStoreOptions } from "../../supabase/functions/_shared/credentials/store.ts";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { createRedis, type Redis } from "../../supabase/functions/_shared/limits/redis.ts";
import { redisUrl } from "./tracker.ts";

export { redisUrl };
export const hex = (bytes = 6) => randomBytes(bytes).toString("hex");

/** Captures every console line (the JSON log lines of logEvent included) until restored. */
export function captureLogs() {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) => vi.spyOn(console, level).mockImplementation(record));
  return {
    lines: () => [...lines],
    events: () => lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    }),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** Fails naming where a secret showed up; short strings are skipped (they would match by chance). */
export function expectNoSecrets(texts: readonly string[], secrets: readonly string[], where: string): void {
  const leaks = secrets.filter((secret) => secret.length >= 8).filter((secret) => texts.some((text) => text.includes(secret)));
  expect(leaks, `secrets found in ${where}`).toEqual([]);
}

export interface CredentialsFixture {
  redis: Redis;
  keyPrefix: string;
  oauth2: OAuth2StandIn;
  tradovate: TradovateStandIn;
  /** The secret environment of the three credentials `cc`, `rt` and `tv`. */
  env: Record<string, string>;
  entries: CredentialEntry[];
  /** Another store on the same Redis and database: another isolate, as far as sharing goes. */
  store(options?: Partial<CredentialStoreOptions>): CredentialStore;
  /** Every secret in play: configured ones and everything the stand-ins issued. */
  secrets(): string[];
  close(): Promise<void>;
}

/**
 * Stand-ins on ephemeral ports and three credentials against them — `cc` (OAuth2 client
 * credentials), `rt` (OAuth2 rotating refresh token) and `tv` (Tradovate) — whose Redis keys
 * belong to this fixture alone.
 */
export async function credentialsFixture(
  sql: Sql,
  options: { oauth2?: OAuth2StandInOptions; tradovate?: TradovateStandInOptions; redis?: Redis } = {},
): Promise<CredentialsFixture> {
  const clientSecret = `cs-${hex(12)}`;
  const seed = `seed-${hex(12)}`;
  const tradovateUser = { name: "peakwatch-test", password: `pw-${hex(12)}`, sec: `sec-${hex(12)}`, cid: 8 };
  const oauth2 = await startOAuth2StandIn({ clients: { "peakwatch-test": clientSecret }, refreshTokens: [seed], ...options.oauth2 });
  const tradovate = await startTradovateStandIn({ user: tradovateUser, ...options.tradovate });
  const redis = options.redis ?? createRedis(redisUrl());
  const keyPrefix = `test:${hex(4)}:`;
  const env = {
    PEAKWATCH_CREDENTIAL_CC_CLIENT_SECRET: clientSecret,
    PEAKWATCH_CREDENTIAL_RT_CLIENT_SECRET: clientSecret,
    PEAKWATCH_CREDENTIAL_RT_REFRESH_TOKEN: seed,
    PEAKWATCH_CREDENTIAL_TV_PASSWORD: tradovateUser.password,
    PEAKWATCH_CREDENTIAL_TV_SEC: tradovateUser.sec,
  };
  const entries: CredentialEntry[] = [
    { name: "cc", strategy: "oauth2_client_credentials", config: { token_url: oauth2.tokenUrl, client_id: "peakwatch-test", scope: "feeds:read" }, enabled: true, source: "env" },
    { name: "rt", strategy: "oauth2_refresh_token", config: { token_url: oauth2.tokenUrl, client_id: "peakwatch-test", client_auth: "post" }, enabled: true, source: "env" },
    {
      name: "tv",
      strategy: "tradovate",
      config: { base_url: tradovate.url, username: tradovateUser.name, app_id: "peakwatch", app_version: "1.0", cid: 8, device_id: "peakwatch-test-device" },
      enabled: true,
      source: "env",
    },
  ];
  return {
    redis,
    keyPrefix,
    oauth2,
    tradovate,
    env,
    entries,
    store: (overrides = {}) =>
      createCredentialStore({
        redis,
        keyPrefix,
        refreshTokens: postgresRefreshTokens(sql),
        registry: async () => buildRegistry(entries, (name) => (env as Record<string, string>)[name]),
        ...overrides,
      }),
    secrets: () => [...Object.values(env), ...oauth2.secrets(), ...tradovate.secrets()],
    async close() {
      const keys = await redis.keys(`${keyPrefix}*`).catch(() => []);
      if (keys.length > 0) await redis.del(...keys);
      if (!options.redis) redis.disconnect();
      await Promise.all([oauth2.close(), tradovate.close()]);
    },
  };
}

/** Token requests the OAuth2 stand-in answered for a grant so far. */
export const grants = (fx: CredentialsFixture, grant: "client_credentials" | "refresh_token") => fx.oauth2.stats().byGrant[grant] ?? 0;
