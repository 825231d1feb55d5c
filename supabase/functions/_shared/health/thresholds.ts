import type { HealthCheck, HealthStatus } from "./types.ts";

/** `above`: the reading gets worse as it rises (ages, counts); `below`: as it falls (shares, seconds left). */
export type Direction = "above" | "below";

/** A null limit never trips: a check with `fail: null` can warn but never fail. */
export interface Threshold {
  warn: number | null;
  fail: number | null;
}

export interface CheckSpec {
  unit: string;
  direction: Direction;
  componentType: HealthCheck["componentType"];
  threshold: Threshold;
}

const spec = (unit: string, direction: Direction, warn: number | null, fail: number | null, componentType: CheckSpec["componentType"] = "component"): CheckSpec => ({
  unit,
  direction,
  componentType,
  threshold: { warn, fail },
});

/**
 * Every check but the per-function ones, with its default limits. `above` trips at value >= limit,
 * `below` at value < limit. Per-source and per-credential checks share one entry.
 */
export const CHECKS = {
  "queue:dueBacklog": spec("tokens", "above", 2_000, 20_000),
  "queue:unprocessed": spec("tokens", "above", 500, 5_000),
  "queue:unprocessedOldestAge": spec("s", "above", 120, 600),
  "queue:overdueP50": spec("s", "above", 60, 300),
  "queue:overdueP95": spec("s", "above", 300, 900),
  "queue:overdueMax": spec("s", "above", 900, 3_600),
  "queue:deadLettered": spec("tokens", "above", 10, 1_000),
  "tokens:freshPercent": spec("percent", "below", 95, 80),
  "pipeline:callConversion": spec("percent", "below", 50, 10),
  "providers:parseFailures": spec("items", "above", 1, 50),
  /** Share of asked addresses a provider priced, over those it priced before (drift that parses). */
  "providers:yield": spec("percent", "below", 60, 50),
  /** Seconds since the provider's shared breaker opened (0 while it is available): whose fault an outage is. */
  "providers:unavailableFor": spec("s", "above", 1, 600),
  /** In multiples of the source's poll interval, so one limit suits a 1-minute feed and a daily one. */
  "sources:lastSuccessAge": spec("s", "above", 3, 10),
  "sources:rejectedCalls": spec("calls", "above", 1, 25),
  "sources:pollErrors": spec("polls", "above", 1, 10),
  /** New calls over the source's own window against its declared floor; warn only, decided by the check. */
  "sources:newCallRate": spec("calls", "below", null, null),
  /** Requests pg_cron or the orchestrator sent that a function answered with an error (401, 5xx, timeout). */
  "invocations:failed": spec("requests", "above", 1, 10),
  /** Requests whose outcome was never collected: pg_net or the collector job is not working. */
  "invocations:unresolved": spec("requests", "above", 1, 30),
  "calls:copycatTickers": spec("tickers", "above", 1, null),
  /** Share of the last day's candle verifications that moved a call's ATH by more than 1 %: information. */
  "calls:athCorrected": spec("percent", "above", null, null),
  /** Seconds the oldest young call's verification is overdue (information: the budget sets it under load). */
  "calls:verificationLag": spec("s", "above", 900, null),
  /** Seconds verification has made no progress while young calls wait for it. */
  "calls:verificationStalled": spec("s", "above", 900, 1_800),
  /** Closed bars the worst candle stream is missing past the grace, on its instrument's calendar. */
  "candles:lastBarAge": spec("bars", "above", 1, 2),
  // Candle figures shown beside it, never graded (INFORMATIONAL).
  "candles:coveragePercent": spec("percent", "below", null, null),
  "candles:rowsPerHour": spec("rows", "above", null, null),
  "candles:streamsBehind": spec("streams", "above", null, null),
  "candles:backfillPercent": spec("percent", "below", null, null),
  "credentials:secondsToExpiry": spec("s", "below", 600, 60),
  "cron:failedRuns": spec("runs", "above", 1, 10, "system"),
  "cron:inactiveJobs": spec("jobs", "above", 1, null, "system"),
  /** Every-minute jobs exist, so a scheduler that stopped shows here first. */
  "cron:lastRunAge": spec("s", "above", 180, 600, "system"),
  // Decided by the check itself: a database behind the code fails; a release is information.
  "deploy:migrationVersion": spec("version", "above", null, null, "system"),
  "deploy:release": spec("release", "above", null, null, "component"),
  "postgres:responseTime": spec("ms", "above", 100, 1_000, "datastore"),
  "redis:responseTime": spec("ms", "above", 100, 1_000, "datastore"),
} as const satisfies Record<string, CheckSpec>;

export type CheckName = keyof typeof CHECKS;

/**
 * Readings that never change the service's status: data events and counts of rejected items are
 * shown and alerted on (notify), but a flood of copycats or one bad feed item must not hold an
 * uptime checker at warn for an hour. Every other reading changes the status as soon as it is
 * graded, at the cadence health is evaluated (HEALTH_CACHE_MS).
 */
export const INFORMATIONAL: ReadonlySet<string> = new Set([
  "calls:copycatTickers",
  "calls:athCorrected",
  "calls:verificationLag",
  "sources:rejectedCalls",
  "deploy:release",
  "candles:coveragePercent",
  "candles:rowsPerHour",
  "candles:streamsBehind",
  "candles:backfillPercent",
]);

export const affectsStatus = (name: string): boolean => !INFORMATIONAL.has(name);

export const FUNCTION_MEASUREMENTS = ["lastSuccessAge", "consecutiveErrors"] as const;
export type FunctionMeasurement = (typeof FUNCTION_MEASUREMENTS)[number];

/** Scheduled every minute unless listed: a run missed or two warns, ten minutes without one fails. */
const LAST_SUCCESS_AGE: Record<string, Threshold> = {
  "token-refresh": { warn: 900, fail: 1_800 },
};

export function functionCheckSpec(fn: string, measurement: FunctionMeasurement): CheckSpec {
  if (measurement === "consecutiveErrors") return spec("runs", "above", 1, 5);
  const limits = LAST_SUCCESS_AGE[fn] ?? { warn: 180, fail: 600 };
  return spec("s", "above", limits.warn, limits.fail);
}

/** The status a reading earns; a reading that could not be taken (null) fails. */
export function grade(value: number | null, threshold: Threshold, direction: Direction): HealthStatus {
  if (value === null || !Number.isFinite(value)) return "fail";
  const trips = (limit: number | null) => limit !== null && (direction === "above" ? value >= limit : value < limit);
  if (trips(threshold.fail)) return "fail";
  if (trips(threshold.warn)) return "warn";
  return "pass";
}

/** Whether warn comes before fail in the check's direction (a config with them swapped is refused). */
export function ordered(threshold: Threshold, direction: Direction): boolean {
  if (threshold.warn === null || threshold.fail === null) return true;
  return direction === "above" ? threshold.warn <= threshold.fail : threshold.warn >= threshold.fail;
}
