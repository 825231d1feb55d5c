import { afterEach, describe, expect, it } from "vitest";
import { budgetWithinWallClock } from "../../supabase/functions/_shared/runtime.ts";

afterEach(() => {
  delete process.env.PEAKWATCH_WALL_CLOCK_MS;
});

describe("the worker's wall clock", () => {
  it("off the edge runtime, with no wall clock configured, the requested budget stands", () => {
    expect(budgetWithinWallClock(50_000, 5_000, Date.now() + 10 * 60_000)).toBe(50_000);
  });

  it("counts from the isolate's start, not the request's: late in the isolate's life the budget shrinks", () => {
    process.env.PEAKWATCH_WALL_CLOCK_MS = "150000";
    const early = budgetWithinWallClock(50_000, 5_000);
    const late = budgetWithinWallClock(50_000, 5_000, Date.now() + 140_000);
    expect(early).toBe(50_000);
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThanOrEqual(5_000);
    expect(budgetWithinWallClock(50_000, 5_000, Date.now() + 200_000)).toBe(0);
  });
});
