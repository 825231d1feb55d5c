import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Bar } from "../../supabase/functions/_shared/candles/provider.ts";
import { type Timeframe, timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { entryAtCall } from "../../supabase/functions/_shared/calltruth/entry.ts";
import { type BarSource, findPeaks } from "../../supabase/functions/_shared/calltruth/peaks.ts";
import { mulberry32 } from "../../dev/market-sim/prng.ts";
import { fuzzed } from "../helpers/fuzz.ts";

const MINUTE = 60_000;
const START = Date.UTC(2026, 10, 30, 0, 0);

function minuteSeries(closes: number[], wicks: number[]): Bar[] {
  return closes.map((close, i) => {
    const open = i === 0 ? close : (closes[i - 1] as number);
    return { bucket: new Date(START + i * MINUTE), open, close, high: Math.max(open, close) * (1 + (wicks[i] ?? 0)), low: Math.min(open, close), volume: 1, synthetic: false };
  });
}

/** A provider that aggregates the minute truth into any timeframe, as GeckoTerminal does. */
function aggregateSource(minutes: Bar[]): { source: BarSource; reads: () => number } {
  let reads = 0;
  const source: BarSource = async (timeframe: Timeframe, from: Date, to: Date) => {
    reads += 1;
    const size = timeframeMs(timeframe);
    const groups = new Map<number, Bar[]>();
    for (const bar of minutes) {
      const bucket = Math.floor(bar.bucket.getTime() / size) * size;
      if (bucket < from.getTime() || bucket >= to.getTime()) continue;
      groups.set(bucket, [...(groups.get(bucket) ?? []), bar]);
    }
    return [...groups.entries()].sort(([a], [b]) => a - b).map(([bucket, bars]) => ({
      bucket: new Date(bucket),
      open: bars[0]!.open,
      close: bars[bars.length - 1]!.close,
      high: Math.max(...bars.map((b) => b.high)),
      low: Math.min(...bars.map((b) => b.low)),
      volume: bars.length,
      synthetic: false,
    }));
  };
  return { source, reads: () => reads };
}

/** A seeded walk with rare wicks and spikes (mulberry32), long enough to span days. */
function randomWalk(length: number, seed: number): { closes: number[]; wicks: number[] } {
  const next = mulberry32(seed);
  const closes: number[] = [];
  const wicks: number[] = [];
  let price = 1;
  for (let i = 0; i < length; i++) {
    price *= Math.exp((next() - 0.5) * 0.04 + (next() < 0.001 ? 1.5 : 0) - (next() < 0.001 ? 1.5 : 0));
    closes.push(price);
    wicks.push(next() < 0.01 ? next() * 3 : 0);
  }
  return { closes, wicks };
}

describe("findPeaks", () => {
  it("finds the same wick and tradeable highs as reading every minute, from any start inside the history", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 * 24 * 60 }),
        fc.integer(),
        fc.nat(),
        async (length, walkSeed, startSeed) => {
          const { closes, wicks } = randomWalk(length, walkSeed);
          const minutes = minuteSeries(closes, wicks);
          const first = startSeed % minutes.length;
          const from = new Date(START + first * MINUTE);
          const to = new Date(START + minutes.length * MINUTE);
          const inWindow = minutes.slice(first);
          const { source } = aggregateSource(minutes);
          const peaks = await findPeaks(source, ["1d", "1h", "1m"], from, to);
          expect(peaks).not.toBeNull();
          expect(peaks!.wick.priceUsd).toBe(Math.max(...inWindow.map((b) => b.high)));
          expect(peaks!.tradeable.priceUsd).toBe(Math.max(...inWindow.map((b) => Math.max(b.open, b.close))));
          expect(peaks!.tradeable.resolution).toBe("1m");
          expect(peaks!.wick.resolution).toBe("1m");
          const wickBar = inWindow.find((b) => b.bucket.getTime() === peaks!.wick.at.getTime());
          expect(wickBar?.high).toBe(peaks!.wick.priceUsd);
        },
      ),
      { ...fuzzed(1700), numRuns: Math.min(60, fuzzed(1700).numRuns) },
    );
  });

  it("never counts a price from before the window, even inside the first day's bar", async () => {
    const closes = [10, 50, 1, 1.2, 1.1];
    const minutes = minuteSeries(closes, [0, 0, 0, 0, 0]);
    const { source } = aggregateSource(minutes);
    const peaks = await findPeaks(source, ["1d", "1h", "1m"], new Date(START + 3 * MINUTE), new Date(START + 5 * MINUTE));
    expect(peaks!.tradeable.priceUsd).toBe(1.2);
    expect(peaks!.wick.priceUsd).toBe(1.2);
  });

  it("reads a week in a few requests rather than one per hour", async () => {
    const closes = Array.from({ length: 7 * 24 * 60 }, (_, i) => 1 + Math.sin(i / 500) * 0.3 + (i === 5000 ? 2 : 0));
    const { source, reads } = aggregateSource(minuteSeries(closes, []));
    const peaks = await findPeaks(source, ["1d", "1h", "1m"], new Date(START), new Date(START + closes.length * MINUTE));
    expect(peaks!.tradeable.at.getTime()).toBe(START + 5000 * MINUTE);
    expect(reads()).toBeLessThan(12);
  });

  it("names the coarser size it rests on when the read budget runs out", async () => {
    const closes = Array.from({ length: 2 * 24 * 60 }, (_, i) => 1 + (i === 1500 ? 1 : 0));
    const { source } = aggregateSource(minuteSeries(closes, []));
    const peaks = await findPeaks(source, ["1d", "1h", "1m"], new Date(START), new Date(START + closes.length * MINUTE), 1);
    expect(peaks!.wick.resolution).toBe("1d");
    expect(peaks!.wick.priceUsd).toBe(2);
  });

  it("answers null for a window without bars", async () => {
    const { source } = aggregateSource([]);
    expect(await findPeaks(source, ["1h", "1m"], new Date(START), new Date(START + MINUTE))).toBeNull();
  });
});

describe("entryAtCall", () => {
  const bars = minuteSeries([1, 2, 3, 4], []);
  it("takes the close of the last minute that ended by the call, never the minute still open", () => {
    const entry = entryAtCall(bars, new Date(START + 2 * MINUTE + 30_000), 5 * MINUTE);
    expect(entry).toEqual({ priceUsd: 2, observedAt: new Date(START + 2 * MINUTE), approximate: false });
  });
  it("a call exactly on a minute boundary takes the minute that just ended", () => {
    expect(entryAtCall(bars, new Date(START + 3 * MINUTE), 5 * MINUTE)?.priceUsd).toBe(3);
  });
  it("flags an entry older than the tolerance as approximate", () => {
    expect(entryAtCall(bars, new Date(START + 20 * MINUTE), 5 * MINUTE)?.approximate).toBe(true);
  });
  it("has no entry when every bar is after the call", () => {
    expect(entryAtCall(bars, new Date(START + 30_000), 5 * MINUTE)).toBeNull();
  });
});
