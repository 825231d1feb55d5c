import { describe, expect, it } from "vitest";
import { healthDocument, healthHttpStatus } from "../../supabase/functions/_shared/health/document.ts";
import type { HealthCheck, HealthReport, HealthStatus } from "../../supabase/functions/_shared/health/types.ts";

const time = "2026-11-26T01:00:00.000Z";
const check = (name: string, status: HealthStatus, extra: Partial<HealthCheck> = {}): HealthCheck => ({
  name,
  componentType: "component",
  observedValue: 1,
  observedUnit: "s",
  status,
  time,
  output: `detail of ${name}: connection to db.internal:5432 refused`,
  ...extra,
});
const report = (status: HealthStatus, checks: HealthCheck[]): HealthReport => ({
  status,
  time,
  summary: { lastRun: { function: "tracker", startedAt: time, outcome: "ok" }, unprocessedTokens: 0, averageLag: 1.5 },
  checks,
  notes: [],
  durationMs: 12,
});

describe("health document", () => {
  it("starts with the overall status, so `{\"status\":\"pass\"` matches only a passing service", () => {
    const passing = JSON.stringify(healthDocument(report("pass", [check("tracker:lastSuccessAge", "pass")]), false));
    expect(passing.startsWith('{"status":"pass"')).toBe(true);
    const warning = JSON.stringify(healthDocument(report("warn", [check("tracker:lastSuccessAge", "pass"), check("queue:dueBacklog", "warn")]), false));
    expect(warning).toContain('"status":"pass"'); // a passing check inside
    expect(warning).not.toContain('{"status":"pass"');
    expect(warning.startsWith('{"status":"warn"')).toBe(true);
  });

  it("keys checks component:measurement, one entry per instance, in the draft's fields", () => {
    const body = healthDocument(
      report("pass", [check("sources:lastSuccessAge", "pass", { componentId: "feed-a" }), check("sources:lastSuccessAge", "pass", { componentId: "feed-b" })]),
      false,
    ) as { checks: Record<string, Array<Record<string, unknown>>> };
    expect(Object.keys(body.checks)).toEqual(["sources:lastSuccessAge"]);
    expect(body.checks["sources:lastSuccessAge"]!.map((c) => c.componentId)).toEqual(["feed-a", "feed-b"]);
    expect(Object.keys(body.checks["sources:lastSuccessAge"]![0]!)).toEqual(["componentId", "componentType", "observedValue", "observedUnit", "status", "time"]);
  });

  it("the public answer has figures only; the service key adds output to every check", () => {
    const failing = report("fail", [check("postgres:responseTime", "fail", { observedValue: null })]);
    const publicBody = JSON.stringify(healthDocument(failing, false));
    expect(publicBody).not.toContain("output");
    expect(publicBody).not.toContain("db.internal");
    const detailed = healthDocument(failing, true) as { checks: Record<string, Array<{ output?: string }>>; output?: string };
    expect(detailed.checks["postgres:responseTime"]![0]!.output).toContain("refused");
    expect(detailed.output).toBe("postgres:responseTime fail");
  });

  it("maps pass and warn to 200 and fail to 503; strict maps warn to 503", () => {
    expect([healthHttpStatus("pass", false), healthHttpStatus("warn", false), healthHttpStatus("fail", false)]).toEqual([200, 200, 503]);
    expect([healthHttpStatus("pass", true), healthHttpStatus("warn", true)]).toEqual([200, 503]);
  });
});
