import { describe, expect, it } from "vitest";
import { extraTrackers } from "../../supabase/functions/_shared/orchestrator/plan.ts";

const base = { perTrackerPerMinute: 3_000, providerCeilingPerMinute: 8_700, scheduledTrackers: 1, maxFanOut: 5 };

describe("tracker fan-out plan", () => {
  it("adds no tracker when the scheduled one drains the backlog within a minute", () => {
    expect(extraTrackers({ ...base, dueCount: 0 })).toBe(0);
    expect(extraTrackers({ ...base, dueCount: 2_999 })).toBe(0);
  });

  it("adds trackers in proportion to the backlog", () => {
    expect(extraTrackers({ ...base, dueCount: 6_000 })).toBe(1);
    expect(extraTrackers({ ...base, dueCount: 8_000 })).toBe(2);
  });

  it("never starts more trackers than the provider quota can feed", () => {
    // 8,700/min ceiling ÷ 3,000 per tracker → 3 trackers are useful, whatever the backlog
    expect(extraTrackers({ ...base, dueCount: 1_000_000 })).toBe(2);
  });

  it("never exceeds the configured fan-out", () => {
    expect(extraTrackers({ ...base, dueCount: 1_000_000, perTrackerPerMinute: 500, maxFanOut: 4 })).toBe(4);
  });

  it("assumes a default throughput before any tracker history exists", () => {
    expect(extraTrackers({ ...base, dueCount: 7_000, perTrackerPerMinute: null })).toBe(2);
  });
});
