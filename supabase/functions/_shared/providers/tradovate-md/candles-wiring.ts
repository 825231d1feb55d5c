import type { TradingCalendar } from "../../candles/calendar.ts";
import { calendarFor } from "../../candles/calendars.ts";
import type { ProviderLanes } from "../../candles/collect.ts";
import { CME_GLOBEX, type MarketHoliday } from "../../candles/cme-calendar.ts";
import { loadMarketHolidays } from "../../candles/sql/market-holidays.ts";
import { ConfigError } from "../../config/config.ts";
import { createCredentialStoreFromEnv } from "../../credentials/deps.ts";
import type { CredentialStore } from "../../credentials/store.ts";
import type { Sql } from "../../db/client.ts";
import type { Redis } from "../../limits/redis.ts";
import type { TradovateEnv } from "./config.ts";
import { createTradovateBarProvider, type TradovateBarProvider, type TradovateProviderOptions } from "./provider.ts";

const HOLIDAYS_TTL_MS = 300_000;

/**
 * What the candles function needs for futures: calendars that know the CME holiday rows (re-read
 * every few minutes, so an edited row counts without a deploy) and, when TRADOVATE_CREDENTIAL is set,
 * one Tradovate provider per isolate serving both lanes (one socket, so one session for both).
 */
export function futuresCandles(
  sql: Sql,
  redis: Redis,
  env: TradovateEnv & { PEAKWATCH_REDIS_PREFIX: string },
  /** A store and provider settings of its own (tests and drills: Node's `ws`, short idle times). */
  overrides: { store?: CredentialStore; provider?: Partial<TradovateProviderOptions> } = {},
) {
  let holidays: readonly MarketHoliday[] = [];
  let loadedAt = Number.NEGATIVE_INFINITY;
  let provider: TradovateBarProvider | null = null;
  const credentials = env.TRADOVATE_CREDENTIAL ? (overrides.store ?? createCredentialStoreFromEnv(sql, redis)) : null;

  const lookup = (name: string): TradingCalendar | null => {
    try {
      return calendarFor(name, { holidays });
    } catch {
      return null;
    }
  };
  // The provider keeps one calendar object; it follows the latest rows.
  const cme = (): TradingCalendar => calendarFor(CME_GLOBEX, { holidays });
  const liveCme: TradingCalendar = {
    name: CME_GLOBEX,
    isOpen: (at) => cme().isOpen(at),
    expectedBuckets: (timeframe, from, to) => cme().expectedBuckets(timeframe, from, to),
    lastClosedBucket: (timeframe, now) => cme().lastClosedBucket(timeframe, now),
  };

  return {
    async prepare(): Promise<void> {
      if (Date.now() - loadedAt > HOLIDAYS_TTL_MS) {
        holidays = await loadMarketHolidays(sql, CME_GLOBEX);
        loadedAt = Date.now();
      }
      if (credentials && !provider) {
        const name = env.TRADOVATE_CREDENTIAL!;
        const config = await credentials.config(name);
        if (config.strategy !== "tradovate") throw new ConfigError(`environment: TRADOVATE_CREDENTIAL: credential "${name}" is ${config.strategy}, not tradovate`);
        provider = createTradovateBarProvider({
          credential: name,
          store: credentials,
          restBaseUrl: config.base_url,
          mdUrl: env.TRADOVATE_MD_URL,
          redis,
          keyPrefix: env.PEAKWATCH_REDIS_PREFIX,
          calendar: liveCme,
          lockWaitMs: env.TRADOVATE_SOCKET_WAIT_MS,
          maxSessionRetries: env.TRADOVATE_SESSION_RETRIES,
          eohTimeoutMs: env.TRADOVATE_EOH_TIMEOUT_MS,
          // The contract being read is visible on the instrument (instruments.contract).
          onContract: async (symbol, month) => {
            await sql`update peakwatch.instruments set contract = ${month.contract}
                      where provider = 'tradovate' and symbol = ${symbol} and contract is distinct from ${month.contract}`;
          },
          ...overrides.provider,
        });
      }
    },
    calendarFor: lookup,
    lanes(): ProviderLanes | null {
      return provider ? { incremental: provider, backfill: provider } : null;
    },
    provider: () => provider,
  };
}
