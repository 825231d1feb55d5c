import type { Timeframe } from "./timeframes.ts";

/** One OHLCV bar; `bucket` is the bar's start (UTC). */
export interface Bar {
  bucket: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** An interval with no trades, filled by the provider with the previous close and zero volume. */
  synthetic: boolean;
}

/** What a stream asks a provider for: the instrument's provider-side identity and a window. */
export interface BarRequest {
  streamId: number;
  /** GeckoTerminal: the pool address; Tradovate: the product (NQ) or a contract (NQH7). */
  symbol: string;
  /** GeckoTerminal network id (solana, eth, …); null for futures. */
  network: string | null;
  /** GeckoTerminal `token` parameter: base, quote or a token address; null for futures. */
  tokenSide: string | null;
  timeframe: Timeframe;
  /** Bars with bucket >= from (inclusive); null = as far back as `limit` reaches. */
  from: Date | null;
  /** Bars with bucket < to. */
  to: Date;
  /** Most bars wanted in one page (GeckoTerminal ≤ 1000). */
  limit: number;
}

export type CoverageReason = "not_on_provider" | "younger_than_depth" | "provider_refused" | "beyond_provider_window";

export type BarPage =
  | {
      ok: true;
      /** Oldest first, buckets unique, every bucket in [from, to). */
      bars: Bar[];
      /** The provider has nothing older than the oldest bar returned (pool creation, window edge). */
      reachedStart: boolean;
      /** Why history ends where it does, when the provider says so. */
      coverage: CoverageReason | null;
    }
  | {
      ok: false;
      /** Counted failure kind, as the tracker counts them (rate_limited, upstream_5xx, schema_drift, …). */
      kind: string;
      message: string;
      coverage: CoverageReason | null;
    };

/**
 * One interface for every bar source. Requests travel as a batch so a provider can share work:
 * Tradovate serves many streams over one market-data session, GeckoTerminal spends its budget.
 * Results come back in request order; one failed request never fails the others.
 */
export interface CandleProvider {
  readonly name: "geckoterminal" | "tradovate";
  supports(timeframe: Timeframe): boolean;
  fetchBars(requests: BarRequest[], signal: AbortSignal): Promise<BarPage[]>;
}
