import { type Timeframe, timeframeMs } from "./timeframes.ts";

/**
 * When an instrument trades. Freshness, gap detection and backfill ask the calendar which buckets
 * should exist, so a weekend or a daily halt is never an alarm and never a gap.
 */
export interface TradingCalendar {
  readonly name: string;
  /** Whether the market is open at this instant. */
  isOpen(at: Date): boolean;
  /** Starts of the buckets a complete history holds in [from, to), oldest first. */
  expectedBuckets(timeframe: Timeframe, from: Date, to: Date): Date[];
  /** Start of the newest bucket that has closed by `now` and should exist; null when none in reach. */
  lastClosedBucket(timeframe: Timeframe, now: Date): Date | null;
}

/** DEX pools trade around the clock. */
export const alwaysOpen: TradingCalendar = {
  name: "always",
  isOpen: () => true,
  expectedBuckets(timeframe, from, to) {
    const size = timeframeMs(timeframe);
    const buckets: Date[] = [];
    for (let t = Math.ceil(from.getTime() / size) * size; t < to.getTime(); t += size) buckets.push(new Date(t));
    return buckets;
  },
  lastClosedBucket(timeframe, now) {
    const size = timeframeMs(timeframe);
    return new Date(Math.floor(now.getTime() / size) * size - size);
  },
};
