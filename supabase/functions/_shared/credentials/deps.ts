import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql, type Sql } from "../db/client.ts";
import { acceptedKeys } from "../http/auth.ts";
import { createRedis, type Redis } from "../limits/redis.ts";
import type { TokenRefreshDeps } from "./handler.ts";
import { postgresRefreshTokens } from "./refresh-tokens.ts";
import { parseTokenAliases } from "./aliases.ts";
import { buildRegistry, cachedRegistry, entriesFromDatabase, entriesFromEnv } from "./registry.ts";
import { createCredentialStore, type CredentialStore, type GetTokenOptions } from "./store.ts";

export const credentialsEnv = sharedEnv.extend({
  /** JSON {"<name>": {"strategy": "...", ...non-secret config}}, beside the rows of peakwatch.credentials. */
  PEAKWATCH_CREDENTIALS: z.string().optional(),
  CREDENTIALS_REFRESH_MARGIN_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  CREDENTIALS_WAIT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  CREDENTIALS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  CREDENTIALS_MAX_PENALTY_WAIT_SECONDS: z.coerce.number().int().min(0).max(120).default(30),
  /** Optional JSON {"<credential>": ["token:<ACCOUNT>", ...]}: the access token is also written there, TTL = its expiry. */
  PEAKWATCH_TOKEN_ALIASES: z.string().optional(),
}).superRefine((env, context) => {
  const parsed = parseTokenAliases(env.PEAKWATCH_TOKEN_ALIASES, env.PEAKWATCH_REDIS_PREFIX);
  if ("error" in parsed) context.addIssue({ code: "custom", path: ["PEAKWATCH_TOKEN_ALIASES"], message: parsed.error });
});

export type CredentialsEnv = z.infer<typeof credentialsEnv>;

/**
 * A store over an existing Postgres pool and Redis client (a function's own, so it opens no new
 * connections). Definitions come from peakwatch.credentials and PEAKWATCH_CREDENTIALS, secrets from
 * the environment; a missing secret variable fails the first use with an error naming it.
 */
export function createCredentialStoreFromEnv(
  sql: Sql,
  redis: Redis,
  env: CredentialsEnv = loadConfig(credentialsEnv),
  read: (name: string) => string | undefined = readEnv,
): CredentialStore {
  return createCredentialStore({
    redis,
    refreshTokens: postgresRefreshTokens(sql),
    registry: cachedRegistry(async () => buildRegistry([...(await entriesFromDatabase(sql)), ...entriesFromEnv(env.PEAKWATCH_CREDENTIALS)], read)),
    keyPrefix: env.PEAKWATCH_REDIS_PREFIX,
    defaultMarginMs: env.CREDENTIALS_REFRESH_MARGIN_SECONDS * 1000,
    waitMs: env.CREDENTIALS_WAIT_MS,
    requestTimeoutMs: env.CREDENTIALS_REQUEST_TIMEOUT_MS,
    maxPenaltyWaitMs: env.CREDENTIALS_MAX_PENALTY_WAIT_SECONDS * 1000,
    aliases: aliasesOf(env),
  });
}

function aliasesOf(env: CredentialsEnv) {
  const parsed = parseTokenAliases(env.PEAKWATCH_TOKEN_ALIASES, env.PEAKWATCH_REDIS_PREFIX);
  return "aliases" in parsed ? parsed.aliases : {};
}

let cached: (TokenRefreshDeps & { redis: Redis }) | undefined;

/** Built once per isolate on first use: one small Postgres pool, one Redis client, one store. */
export function tokenRefreshDeps(): TokenRefreshDeps {
  if (cached) return cached;
  const env = loadConfig(credentialsEnv);
  const db = databaseConnection(env);
  const sql = createSql(db.url, { ssl: db.ssl, max: 2, applicationName: "peakwatch-credentials" });
  const redis = createRedis(env.REDIS_URL);
  cached = { sql, redis, keys: acceptedKeys(readEnv), store: createCredentialStoreFromEnv(sql, redis, env) };
  return cached;
}

/** The isolate's credential store (the same one token-refresh uses). */
export const credentialStore = (): CredentialStore => tokenRefreshDeps().store;

/** A valid bearer for an upstream, e.g. `Authorization: Bearer ${await getToken("feed")}`. */
export const getToken = (name: string, options?: GetTokenOptions): Promise<string> => credentialStore().getToken(name, options);

/** `use` with a token; one forced refresh and one retry on a 401. */
export const withToken = <T>(name: string, use: (token: string) => Promise<T>): Promise<T> => credentialStore().withToken(name, use);
