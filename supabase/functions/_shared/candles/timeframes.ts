import { z } from "zod";

/** Bar sizes peakwatch stores. A provider supports a subset (GeckoTerminal has no 30m). */
export const TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d"] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];
export const timeframeSchema = z.enum(TIMEFRAMES);

const SECONDS: Record<Timeframe, number> = {
  "1m": 60,
  "5m": 300,
  "15m": 900,
  "30m": 1800,
  "1h": 3600,
  "4h": 14_400,
  "12h": 43_200,
  "1d": 86_400,
};

export function timeframeMs(timeframe: Timeframe): number {
  return SECONDS[timeframe] * 1000;
}

/** Start of the bucket holding `at` (UTC-aligned; every timeframe divides a day). */
export function bucketStart(timeframe: Timeframe, at: Date): Date {
  const size = timeframeMs(timeframe);
  return new Date(Math.floor(at.getTime() / size) * size);
}

/** A bar is closed once its bucket has ended. */
export function isClosed(timeframe: Timeframe, bucket: Date, now: Date): boolean {
  return bucket.getTime() + timeframeMs(timeframe) <= now.getTime();
}
