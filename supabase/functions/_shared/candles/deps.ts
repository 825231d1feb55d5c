import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql, type Sql } from "../db/client.ts";
import { acceptedKeys } from "../http/auth.ts";
import { geckoBudget } from "../limits/budget.ts";
import { providerLimits } from "../limits/gcra.ts";
import { createRedis, type Redis } from "../limits/redis.ts";
import type { TradingCalendar } from "./calendar.ts";
import { calendarFor } from "./calendars.ts";
import type { ProviderLanes } from "./collect.ts";
import { tradovateEnv } from "../providers/tradovate-md/config.ts";
import { futuresCandles } from "../providers/tradovate-md/candles-wiring.ts";
import { createGeckoCandleProvider } from "./geckoterminal.ts";
import type { CandlesDeps } from "./handler.ts";
import { handleCandlesRead } from "./read-http.ts";

const candlesEnv = sharedEnv.extend(tradovateEnv.shape).extend({
  CANDLES_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  CANDLES_LEASE_SECONDS: z.coerce.number().int().min(10).max(3_600).default(120),
  CANDLES_INITIAL_BARS: z.coerce.number().int().min(1).max(1_000).default(120),
});

/** Incremental candles and backfill each spend their own share of GeckoTerminal's one budget. */
export function geckoLanes(redis: Redis, options: { baseUrl?: string; keyPrefix?: string; perMinute?: number; fetch?: typeof fetch }): ProviderLanes {
  const budget = geckoBudget(redis, providerLimits(`${options.keyPrefix ?? "peakwatch:"}limits:`, options.perMinute).geckoterminal);
  const lane = (consumer: "incremental" | "backfill") =>
    createGeckoCandleProvider({ baseUrl: options.baseUrl, fetch: options.fetch, gate: budget.gate(consumer) });
  return { incremental: lane("incremental"), backfill: lane("backfill") };
}

/** The instrument's calendar by name; an unknown one is null, and its stream fails with the reason (counted). */
export function defaultCalendarFor(name: string): TradingCalendar | null {
  try {
    return calendarFor(name);
  } catch {
    return null;
  }
}

let cached: CandlesDeps | undefined;

/** Built once per isolate on first request: one small Postgres pool, one Redis client. */
export function candlesDeps(): CandlesDeps {
  if (cached) return cached;
  const env = loadConfig(candlesEnv);
  const db = databaseConnection(env);
  const sql: Sql = createSql(db.url, { ssl: db.ssl, max: 2, applicationName: "peakwatch-candles" });
  const redis = createRedis(env.REDIS_URL);
  const lanes = geckoLanes(redis, { baseUrl: env.GECKOTERMINAL_BASE_URL, keyPrefix: env.PEAKWATCH_REDIS_PREFIX, perMinute: env.GECKOTERMINAL_CALLS_PER_MINUTE });
  const keys = acceptedKeys(readEnv);
  // Issue 18: CME calendars from the holiday rows; Tradovate streams are claimed only when a credential is set.
  const futures = futuresCandles(sql, redis, env);
  cached = {
    sql,
    keys,
    read: (request) => handleCandlesRead(request, { sql, keys }),
    providers: () => {
      const tradovate = futures.lanes();
      return tradovate ? { geckoterminal: lanes, tradovate } : { geckoterminal: lanes };
    },
    calendarFor: futures.calendarFor,
    prepare: futures.prepare,
    settings: { batchSize: env.CANDLES_BATCH_SIZE, leaseSeconds: env.CANDLES_LEASE_SECONDS, initialBars: env.CANDLES_INITIAL_BARS },
  };
  return cached;
}
