import type { TradingCalendar } from "../../candles/calendar.ts";
import type { Bar, BarPage, BarRequest } from "../../candles/provider.ts";
import { bucketStart, timeframeMs } from "../../candles/timeframes.ts";
import type { ChartBar } from "./frames.ts";

/**
 * A chart's bars as the page a stream asked for: buckets in [from, to), oldest first, unique, at
 * most `limit` (the newest). Volume is up + down volume. Between two bars Tradovate sent, a bucket
 * the session calendar expects had no trades: it becomes a synthetic bar at the previous close with
 * volume 0 (the candle store's convention). Nothing is invented before the first bar or after the last.
 */
export function pageOfChart(request: BarRequest, raw: readonly ChartBar[], calendar: TradingCalendar): BarPage {
  const size = timeframeMs(request.timeframe);
  const from = request.from?.getTime() ?? Number.NEGATIVE_INFINITY;
  const to = request.to.getTime();
  const byBucket = new Map<number, Bar>();
  for (const bar of raw) {
    // Tradovate stamps a bar with its start (assumed; see docs/tradovate.md).
    const bucket = bucketStart(request.timeframe, new Date(bar.timestamp));
    if (bucket.getTime() < from || bucket.getTime() >= to) continue;
    byBucket.set(bucket.getTime(), { bucket, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.upVolume + bar.downVolume, synthetic: false });
  }
  const bars: Bar[] = [];
  for (const bar of [...byBucket.values()].sort((a, b) => a.bucket.getTime() - b.bucket.getTime())) {
    const previous = bars.at(-1);
    if (previous) {
      for (const bucket of calendar.expectedBuckets(request.timeframe, new Date(previous.bucket.getTime() + size), bar.bucket)) {
        const close = previous.close;
        bars.push({ bucket, open: close, high: close, low: close, close, volume: 0, synthetic: true });
      }
    }
    bars.push(bar);
  }
  const page = bars.slice(-request.limit);
  const firstExpected = request.from ? calendar.expectedBuckets(request.timeframe, request.from, request.to)[0] : undefined;
  // History ends after `from`: the oldest bar is later than the first bucket the session calendar expects.
  const reachedStart = firstExpected !== undefined && page.length < request.limit && (page.length === 0 || page[0]!.bucket.getTime() > firstExpected.getTime());
  return { ok: true, bars: page, reachedStart, coverage: reachedStart ? "beyond_provider_window" : null };
}
