import { describe, expect, it } from "vitest";
import { type ClassResult, countFalseAlarms, FAULT_CLASS_IDS, selectClasses, summary, table, tripped, verdict } from "../../dev/drill/faults-lib.ts";
import { FAULT_CLASSES } from "../../dev/drill/fault-classes.ts";
import { quietPollsNeeded } from "../../supabase/functions/_shared/health/checks/sources.ts";

const view = (status: "pass" | "warn" | "fail", nonPass: string[] = []) => ({ status, providersDown: [], nonPass });
const result = (overrides: Partial<ClassResult>): ClassResult => ({
  id: "tracker-stopped",
  title: "tracker stopped",
  watch: { kind: "status", readings: ["cron:inactiveJobs"] },
  detectMs: 10_000,
  tripped: ["cron:inactiveJobs"],
  recoverMs: 5_000,
  stillNonPass: [],
  statusChanged: false,
  baselineNonPass: [],
  ...overrides,
});

describe("fault drill: what counts as tripped", () => {
  it("a status class trips when one of its readings makes the status warn or fail, or health does not answer", () => {
    const watch = { kind: "status", readings: ["cron:inactiveJobs", "queue:overdue", "sources:newCallRate#drill-silent"] } as const;
    const trips = (v: ReturnType<typeof view> | null) => tripped({ ...watch, readings: [...watch.readings] }, v);
    expect(trips(view("pass"))).toBe(false);
    expect(trips(view("warn", ["cron:inactiveJobs"]))).toBe(true);
    expect(trips(view("fail", ["tracker:lastSuccessAge", "queue:overdueP95"]))).toBe(true);
    expect(trips(view("warn", ["sources:newCallRate#drill-silent"]))).toBe(true);
    expect(trips(null)).toBe(true);
  });

  it("a status class is not tripped by an unrelated reading that happens to be non-pass", () => {
    const watch = { kind: "status" as const, readings: ["sources:newCallRate#drill-silent"] };
    expect(tripped(watch, view("warn", ["providers:yield#geckoterminal"]))).toBe(false);
    expect(tripped(watch, view("warn", ["sources:newCallRate#demo-calls"]))).toBe(false);
  });

  it("an informational class trips on its own reading (any component) while the status stays pass", () => {
    const watch = { kind: "reading", name: "calls:copycatTickers" } as const;
    expect(tripped(watch, view("pass", ["calls:copycatTickers"]))).toBe(true);
    expect(tripped(watch, view("pass", ["calls:copycatTickers#x"]))).toBe(true);
    expect(tripped(watch, view("warn", ["queue:dueBacklog"]))).toBe(false);
    expect(tripped(watch, null)).toBe(false);
  });
});

describe("fault drill: grading against the bar", () => {
  it("meets the bar at 2 minutes to non-pass and 3 minutes back to pass, and misses it a second later or never", () => {
    expect(verdict(result({ detectMs: 120_000, recoverMs: 180_000 }))).toBe("met");
    expect(verdict(result({ detectMs: 121_000 }))).toBe("MISSED");
    expect(verdict(result({ recoverMs: 181_000 }))).toBe("MISSED");
    expect(verdict(result({ detectMs: null }))).toBe("MISSED");
    expect(verdict(result({ recoverMs: null }))).toBe("MISSED");
  });

  it("a health that was not pass before the onset, or an informational reading that changed the status, misses", () => {
    expect(verdict(result({ baselineNonPass: ["queue:overdueP50"] }))).toBe("MISSED");
    const copycat = { id: "copycat-tickers" as const, watch: { kind: "reading" as const, name: "calls:copycatTickers" } };
    expect(verdict(result({ ...copycat }))).toBe("met");
    expect(verdict(result({ ...copycat, statusChanged: true }))).toBe("MISSED");
    expect(verdict(result({ skipped: "no credential secret" }))).toBe("skipped");
  });

  it("the summary lists the missed classes and counts the clean stretch's non-pass samples as false alarms", () => {
    const clean = countFalseAlarms(
      [{ atMs: 0, view: view("pass") }, { atMs: 10_000, view: view("warn", ["queue:overdueP50"]) }, { atMs: 20_000, view: null }],
      1,
      Date.parse("2026-12-06T00:00:00Z"),
    );
    expect(clean.nonPass).toEqual([
      { at: "2026-12-06T00:00:10.000Z", status: "warn", readings: ["queue:overdueP50"] },
      { at: "2026-12-06T00:00:20.000Z", status: "unreachable", readings: ["health did not answer"] },
    ]);
    const report = summary([result({}), result({ id: "backlog-flood", detectMs: null })], clean);
    expect(report).toMatchObject({ met: false, missed: ["backlog-flood"], clean: { samples: 3, falseAlarms: 2 } });
    expect(summary([result({})], countFalseAlarms([{ atMs: 0, view: view("pass") }], 1, 0)).met).toBe(true);
  });

  it("the table says an informational class kept the status at pass", () => {
    const text = table([result({ id: "copycat-tickers", watch: { kind: "reading", name: "calls:copycatTickers" }, detectMs: 65_000 })]);
    expect(text).toMatch(/copycat-tickers\s+65 s\s+5 s\s+met\s+calls:copycatTickers \(informational: status stayed pass\)/);
  });
});

describe("fault drill: classes", () => {
  it("--only keeps the drill's order and refuses unknown classes", () => {
    expect(selectClasses("poller-stopped,tracker-stopped")).toEqual(["tracker-stopped", "poller-stopped"]);
    expect(selectClasses(undefined)).toEqual([...FAULT_CLASS_IDS]);
    expect(() => selectClasses("tracker-stoped")).toThrow(/unknown fault class tracker-stoped/);
  });

  it("every class has an injection and a fix, and only copycats are timed on an informational reading", () => {
    for (const id of FAULT_CLASS_IDS) {
      expect(FAULT_CLASSES[id].id).toBe(id);
      expect(typeof FAULT_CLASSES[id].inject).toBe("function");
      expect(typeof FAULT_CLASSES[id].fix).toBe("function");
    }
    expect(FAULT_CLASS_IDS.filter((id) => FAULT_CLASSES[id].watch.kind === "reading")).toEqual(["copycat-tickers"]);
  });
});

describe("sources:newCallRate: empty polls that make a source silent", () => {
  it("one empty poll for a brisk floor, the window for a sparse one", () => {
    expect(quietPollsNeeded(40, 5, 60)).toBe(1);
    expect(quietPollsNeeded(10, 60, 60)).toBe(18);
    expect(quietPollsNeeded(2, 60, 60)).toBe(90);
  });
});
