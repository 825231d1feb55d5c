import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cachedEvaluation } from "../../supabase/functions/_shared/health/evaluate.ts";
import type { HealthReport } from "../../supabase/functions/_shared/health/types.ts";

const report = (n: number): HealthReport => ({ status: "pass", time: `t${n}`, summary: { lastRun: null, unprocessedTokens: null, averageLag: null }, checks: [], notes: [], durationMs: 1 });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the public health cache", () => {
  it("concurrent requests share one evaluation, reused while fresh", async () => {
    let calls = 0;
    const cached = cachedEvaluation(async () => report(++calls), 5_000);
    const [a, b, c] = await Promise.all([cached(), cached(), cached()]);
    expect(calls).toBe(1);
    expect([a.time, b.time, c.time]).toEqual(["t1", "t1", "t1"]);
    vi.setSystemTime(4_000);
    expect((await cached()).time).toBe("t1");
    expect(calls).toBe(1);
  });

  it("past its freshness and under 10 s old, the last answer goes out at once while one evaluation refreshes it", async () => {
    let calls = 0;
    let release: () => void = () => {};
    const cached = cachedEvaluation(() => (++calls === 1 ? Promise.resolve(report(1)) : new Promise<HealthReport>((resolve) => (release = () => resolve(report(calls))))), 5_000);
    await cached();
    vi.setSystemTime(6_000);
    const stale = await Promise.all([cached(), cached(), cached()]);
    expect(stale.map((r) => r.time)).toEqual(["t1", "t1", "t1"]);
    expect(calls).toBe(2);
    release();
    await vi.waitFor(async () => expect((await cached()).time).toBe("t2"));
  });

  it("never answers from a result 10 s old or older: those requests wait for the fresh evaluation", async () => {
    let calls = 0;
    const cached = cachedEvaluation(async () => report(++calls), 5_000);
    await cached();
    vi.setSystemTime(10_000);
    expect((await cached()).time).toBe("t2");
  });

  it("with no cache (HEALTH_CACHE_MS=0) every request after the last evaluation evaluates again", async () => {
    let calls = 0;
    const cached = cachedEvaluation(async () => report(++calls), 0);
    await cached();
    vi.setSystemTime(1);
    expect((await cached()).time).toBe("t2");
  });
});
