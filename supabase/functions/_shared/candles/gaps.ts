import type { TradingCalendar } from "./calendar.ts";
import type { MissingRange } from "./sql/gaps.ts";
import { type Timeframe, timeframeMs } from "./timeframes.ts";

/**
 * Expected buckets (the calendar's) that are not stored, as ranges [from, to) of consecutive
 * expected buckets. A synthetic row is stored: "no trades" is never a gap; only a missing row is.
 */
export function missingRanges(calendar: TradingCalendar, timeframe: Timeframe, from: Date, to: Date, stored: readonly Date[]): MissingRange[] {
  const size = timeframeMs(timeframe);
  const have = new Set(stored.map((bucket) => bucket.getTime()));
  const ranges: MissingRange[] = [];
  let open: MissingRange | null = null;
  for (const bucket of calendar.expectedBuckets(timeframe, from, to)) {
    const t = bucket.getTime();
    if (have.has(t)) {
      open = null;
      continue;
    }
    if (open && open.to.getTime() === t) open.to = new Date(t + size);
    else {
      open = { from: bucket, to: new Date(t + size) };
      ranges.push(open);
    }
  }
  return ranges;
}

/** How many buckets the ranges hold (for counts). */
export function bucketsIn(ranges: readonly MissingRange[], timeframe: Timeframe): number {
  const size = timeframeMs(timeframe);
  return ranges.reduce((sum, range) => sum + Math.round((range.to.getTime() - range.from.getTime()) / size), 0);
}
