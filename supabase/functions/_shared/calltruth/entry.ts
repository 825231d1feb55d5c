import type { Bar } from "../candles/provider.ts";
import { timeframeMs } from "../candles/timeframes.ts";

export interface CandleEntry {
  priceUsd: number;
  /** When that close was the price: the end of its minute, never after the call. */
  observedAt: Date;
  /** The nearest close before the call is older than the tolerance (no trades for a while). */
  approximate: boolean;
}

const MINUTE_MS = timeframeMs("1m");

/**
 * The entry a caller got: the close of the last minute bar that had ended by `calledAt`. A bar
 * still open at the call, or any later one, would be look-ahead that flatters the caller. Minutes
 * without trades have no bar, so an older close is accepted within `toleranceMs` and flagged
 * approximate beyond it.
 */
export function entryAtCall(minuteBars: Bar[], calledAt: Date, toleranceMs: number): CandleEntry | null {
  let chosen: Bar | null = null;
  for (const bar of minuteBars) {
    if (bar.bucket.getTime() + MINUTE_MS > calledAt.getTime()) continue;
    if (!chosen || bar.bucket > chosen.bucket) chosen = bar;
  }
  if (!chosen) return null;
  const observedAt = new Date(chosen.bucket.getTime() + MINUTE_MS);
  return { priceUsd: chosen.close, observedAt, approximate: calledAt.getTime() - observedAt.getTime() > toleranceMs };
}
