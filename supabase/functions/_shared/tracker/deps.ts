import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql, type Sql } from "../db/client.ts";
import { acceptedKeys } from "../http/auth.ts";
import { breakerKey, createCircuitBreaker } from "../limits/breaker.ts";
import { geckoBudget } from "../limits/budget.ts";
import { createRateLimiter, providerLimits } from "../limits/gcra.ts";
import { createRedis, type Redis } from "../limits/redis.ts";
import { createDexScreenerProvider } from "../providers/dexscreener.ts";
import { createGeckoTerminalProvider } from "../providers/geckoterminal.ts";
import type { PriceProvider } from "../providers/types.ts";
import type { TrackerDeps } from "./handler.ts";
import type { Lane } from "./lanes.ts";
import { redisPricedMemory } from "./provider-yield.ts";

const trackerEnv = sharedEnv.extend({
  TRACKER_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(90),
  TRACKER_LEASE_SECONDS: z.coerce.number().int().min(10).max(3_600).default(90),
  TRACKER_LIQUIDITY_FLOOR_USD: z.coerce.number().min(0).default(100),
  TRACKER_DEAD_AFTER_MISSES: z.coerce.number().int().min(1).max(100).default(5),
  // on unless "false": GeckoTerminal takes a chunk first when it has a slot free right now
  TRACKER_SPARE_FALLBACK: z.enum(["true", "false"]).default("true").transform((value) => value === "true"),
});

export interface LaneOptions {
  dexscreenerBaseUrl?: string;
  geckoterminalBaseUrl?: string;
  /** Redis key prefix; every tracker sharing a provider quota must use the same one. */
  keyPrefix?: string;
  limits?: ReturnType<typeof providerLimits>;
  /** GeckoTerminal's total budget per minute (GECKOTERMINAL_CALLS_PER_MINUTE) when `limits` is not given. */
  geckoterminalPerMinute?: number;
  breakerOpenMs?: number;
}

function lane(redis: Redis, provider: PriceProvider, limiter: Lane["limiter"], options: LaneOptions): Lane {
  return {
    provider,
    limiter,
    breaker: createCircuitBreaker(redis, { key: breakerKey(options.keyPrefix ?? "peakwatch:", provider.name), openMs: options.breakerOpenMs }),
    priced: redisPricedMemory(redis, options.keyPrefix ?? "peakwatch:", provider.name),
  };
}

/** DexScreener first, GeckoTerminal as fallback, each behind the shared limiter and breaker. */
export function buildLanes(redis: Redis, options: LaneOptions = {}): { primary: Lane; fallback: Lane } {
  const limits = options.limits ?? providerLimits(`${options.keyPrefix ?? "peakwatch:"}limits:`, options.geckoterminalPerMinute);
  return {
    primary: lane(redis, createDexScreenerProvider({ baseUrl: options.dexscreenerBaseUrl }), createRateLimiter(redis, limits.dexscreener), options),
    // The fallback's share of GeckoTerminal's one budget (highest priority; idle shares are lent to it).
    fallback: lane(redis, createGeckoTerminalProvider({ baseUrl: options.geckoterminalBaseUrl }), geckoBudget(redis, limits.geckoterminal).gate("fallback"), options),
  };
}

let cached: TrackerDeps | undefined;

/** Built once per isolate on first request: one small Postgres pool, one Redis client. */
export function trackerDeps(): TrackerDeps {
  if (cached) return cached;
  const env = loadConfig(trackerEnv);
  const db = databaseConnection(env);
  const sql: Sql = createSql(db.url, { ssl: db.ssl, max: 2, applicationName: "peakwatch-tracker" });
  const redis = createRedis(env.REDIS_URL);
  const lanes = buildLanes(redis, {
    dexscreenerBaseUrl: env.DEXSCREENER_BASE_URL,
    geckoterminalBaseUrl: env.GECKOTERMINAL_BASE_URL,
    keyPrefix: env.PEAKWATCH_REDIS_PREFIX,
    geckoterminalPerMinute: env.GECKOTERMINAL_CALLS_PER_MINUTE,
  });
  cached = {
    sql,
    keys: acceptedKeys(readEnv),
    lanes: () => lanes,
    settings: {
      batchSize: env.TRACKER_BATCH_SIZE,
      leaseSeconds: env.TRACKER_LEASE_SECONDS,
      liquidityFloorUsd: env.TRACKER_LIQUIDITY_FLOOR_USD,
      deadAfterMisses: env.TRACKER_DEAD_AFTER_MISSES,
      spareFallback: env.TRACKER_SPARE_FALLBACK,
    },
  };
  return cached;
}
