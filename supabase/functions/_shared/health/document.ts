import { releaseId } from "../runtime.ts";
import type { HealthCheck, HealthReport, HealthStatus } from "./types.ts";

export const HEALTH_CONTENT_TYPE = "application/health+json";

/** pass and warn answer 200, fail 503; `strict` makes warn 503 too. */
export function healthHttpStatus(status: HealthStatus, strict: boolean): number {
  if (status === "fail" || (strict && status === "warn")) return 503;
  return 200;
}

type CheckEntry = Omit<HealthCheck, "name" | "output"> & { output?: string };

/**
 * The answer in the IETF health-check draft's shape. `status` is the first key, and no check
 * object starts with one, so `{"status":"pass"` occurs in the raw body only for the whole service.
 * The public answer carries figures only; `detailed` (the service key) adds each check's output.
 */
export function healthDocument(report: HealthReport, detailed: boolean): Record<string, unknown> {
  const checks: Record<string, CheckEntry[]> = {};
  for (const check of report.checks) {
    const entry: CheckEntry = {
      ...(check.componentId !== undefined ? { componentId: check.componentId } : {}),
      componentType: check.componentType,
      observedValue: check.observedValue,
      observedUnit: check.observedUnit,
      status: check.status,
      time: check.time,
      ...(detailed ? { output: check.output } : {}),
    };
    (checks[check.name] ??= []).push(entry);
  }
  const failing = report.checks.filter((check) => check.status !== "pass");
  return {
    status: report.status,
    description: "peakwatch: freshness of market data for called tokens",
    releaseId: releaseId(),
    time: report.time,
    // When the (cached, at most HEALTH_CACHE_MS old) evaluation was made.
    checkedAt: report.time,
    lastRun: report.summary.lastRun,
    unprocessedTokens: report.summary.unprocessedTokens,
    averageLag: report.summary.averageLag,
    checks,
    ...(report.notes.length > 0 ? { notes: report.notes } : {}),
    ...(detailed && failing.length > 0
      ? { output: failing.map((check) => `${check.name}${check.componentId ? `#${check.componentId}` : ""} ${check.status}`).join(", ") }
      : {}),
    ...(detailed ? { durationMs: report.durationMs } : {}),
  };
}
