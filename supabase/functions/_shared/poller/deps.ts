import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql, type Sql } from "../db/client.ts";
import { acceptedKeys } from "../http/auth.ts";
import { geckoBudget } from "../limits/budget.ts";
import { createRateLimiter, providerLimits } from "../limits/gcra.ts";
import { createRedis, type Redis } from "../limits/redis.ts";
import { createCredentialStoreFromEnv } from "../credentials/deps.ts";
import { credentialBearerSource, envBearerSource } from "../sources/bearer.ts";
import type { SourceDeps } from "../sources/reader.ts";
import type { PollerDeps } from "./handler.ts";

const pollerEnv = sharedEnv.extend({
  POLLER_MAX_SOURCES: z.coerce.number().int().min(1).max(100).default(20),
  POLLER_LEASE_SECONDS: z.coerce.number().int().min(10).max(3_600).default(120),
});

/**
 * Quotas shared with every instance: the poller's share of GeckoTerminal's one budget (the tracker's
 * fallback, verification and candles draw from the same one), and DexScreener's token profiles
 * (60/min documented) under their own.
 */
export function sourceGates(redis: Redis, keyPrefix = "peakwatch:", geckoterminalPerMinute?: number): SourceDeps["gates"] {
  const prefix = `${keyPrefix}limits:`;
  return {
    dexscreenerProfiles: createRateLimiter(redis, { key: `${prefix}dexscreener:profiles`, ratePerMinute: 55, burst: 2 }),
    geckoterminal: geckoBudget(redis, providerLimits(prefix, geckoterminalPerMinute).geckoterminal).gate("poller"),
  };
}

let cached: PollerDeps | undefined;

/** Built once per isolate on first request. Redis connects only when a source needs a quota. */
export function pollerDeps(): PollerDeps {
  if (cached) return cached;
  const env = loadConfig(pollerEnv);
  const db = databaseConnection(env);
  const sql: Sql = createSql(db.url, { ssl: db.ssl, max: 2, applicationName: "peakwatch-poller" });
  const redis = createRedis(env.REDIS_URL);
  const sources: SourceDeps = {
    bearer: credentialBearerSource(createCredentialStoreFromEnv(sql, redis), envBearerSource(readEnv)),
    gates: sourceGates(redis, env.PEAKWATCH_REDIS_PREFIX, env.GECKOTERMINAL_CALLS_PER_MINUTE),
    dexscreenerBaseUrl: env.DEXSCREENER_BASE_URL,
    geckoterminalBaseUrl: env.GECKOTERMINAL_BASE_URL,
  };
  cached = {
    sql,
    keys: acceptedKeys(readEnv),
    sources: () => sources,
    settings: { maxSources: env.POLLER_MAX_SOURCES, leaseSeconds: env.POLLER_LEASE_SECONDS },
  };
  return cached;
}
