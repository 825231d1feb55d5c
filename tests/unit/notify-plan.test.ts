import { describe, expect, it } from "vitest";
import type { HealthCheck, HealthStatus } from "../../supabase/functions/_shared/health/types.ts";
import { planAlerts, type StoredAlert } from "../../supabase/functions/_shared/notify/plan.ts";

const check = (name: string, status: HealthStatus, componentId?: string): HealthCheck => ({
  name,
  ...(componentId ? { componentId } : {}),
  componentType: "component",
  observedValue: 1,
  observedUnit: "s",
  status,
  time: "2026-11-26T01:00:00.000Z",
  output: "",
});
const stored = (entries: Record<string, [HealthStatus, number]>) =>
  new Map(Object.entries(entries).map(([key, [status, seconds]]): [string, StoredAlert] => [key, { status, since: "2026-11-26 00:00:00+00", secondsSinceNotified: seconds }]));
const settings = { minStatus: "warn" as const, realertSeconds: 3_600 };

describe("planAlerts", () => {
  it("records a check first seen passing without announcing it; one first seen failing is announced", () => {
    const plan = planAlerts([check("a:x", "pass"), check("b:y", "fail")], new Map(), settings);
    expect(plan.transitions.map((t) => [t.key, t.from, t.to])).toEqual([["b:y", null, "fail"]]);
    expect(plan.writes).toEqual([
      { key: "a:x", status: "pass", notified: false },
      { key: "b:y", status: "fail", notified: true },
    ]);
  });

  it("announces pass→warn, warn→fail, fail→warn and recovery, and nothing while a status holds", () => {
    for (const [from, to] of [["pass", "warn"], ["warn", "fail"], ["fail", "warn"], ["fail", "pass"], ["warn", "pass"]] as const) {
      const plan = planAlerts([check("a:x", to)], stored({ "a:x": [from, 10] }), settings);
      expect(plan.transitions.map((t) => [t.from, t.to])).toEqual([[from, to]]);
    }
    for (const status of ["pass", "warn", "fail"] as const) {
      const plan = planAlerts([check("a:x", status)], stored({ "a:x": [status, 10] }), settings);
      expect(plan).toEqual({ transitions: [], reminders: [], writes: [] });
    }
  });

  it("reminds about a check still failing after the re-alert interval, never about a passing one", () => {
    const plan = planAlerts([check("a:x", "fail"), check("b:y", "pass")], stored({ "a:x": ["fail", 3_600], "b:y": ["pass", 99_999] }), settings);
    expect(plan.reminders.map((r) => r.key)).toEqual(["a:x"]);
    expect(plan.writes).toEqual([{ key: "a:x", status: "fail", notified: true }]);
    expect(planAlerts([check("a:x", "fail")], stored({ "a:x": ["fail", 3_599] }), settings).reminders).toEqual([]);
    expect(planAlerts([check("a:x", "fail")], stored({ "a:x": ["fail", 1e9] }), { ...settings, realertSeconds: 0 }).reminders).toEqual([]);
  });

  it("with minStatus fail, warnings count as pass", () => {
    const plan = planAlerts([check("a:x", "warn"), check("b:y", "fail")], stored({ "a:x": ["pass", 10], "b:y": ["pass", 10] }), { ...settings, minStatus: "fail" });
    expect(plan.transitions.map((t) => t.key)).toEqual(["b:y"]);
  });

  it("tells instances apart by component and lists the worst news first", () => {
    const plan = planAlerts(
      [check("sources:lastSuccessAge", "warn", "feed-a"), check("sources:lastSuccessAge", "fail", "feed-b"), check("a:x", "pass")],
      stored({ "sources:lastSuccessAge#feed-a": ["pass", 1], "sources:lastSuccessAge#feed-b": ["pass", 1], "a:x": ["fail", 1] }),
      settings,
    );
    expect(plan.transitions.map((t) => `${t.key} ${t.to}`)).toEqual(["sources:lastSuccessAge#feed-b fail", "sources:lastSuccessAge#feed-a warn", "a:x pass"]);
  });

  it("hysteresis: worse news at once; better news only once it has held clearAfterSeconds", () => {
    const withHold = { ...settings, clearAfterSeconds: 150 };
    const flapping = new Map<string, StoredAlert>([["a:x", { status: "warn", since: "", secondsSinceNotified: 10, observedStatus: "warn", observedSeconds: 60 }]]);
    const first = planAlerts([check("a:x", "pass")], flapping, withHold);
    expect(first.transitions).toEqual([]);
    expect(first.writes).toEqual([{ key: "a:x", status: "warn", notified: false, observed: "pass" }]);
    const held = new Map<string, StoredAlert>([["a:x", { status: "warn", since: "", secondsSinceNotified: 10, observedStatus: "pass", observedSeconds: 150 }]]);
    expect(planAlerts([check("a:x", "pass")], held, withHold).transitions.map((t) => [t.from, t.to])).toEqual([["warn", "pass"]]);
    const worse = planAlerts([check("a:x", "fail")], flapping, withHold);
    expect(worse.transitions.map((t) => [t.from, t.to])).toEqual([["warn", "fail"]]);
  });
});
