import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createBudget, GECKO_CONSUMERS, GECKO_SHARES } from "../../supabase/functions/_shared/limits/budget.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `test:${crypto.randomUUID()}:budget:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** A budget on a clock the test moves, so every property is about counts, not about timing. */
function clocked(ratePerMinute: number, idleMs = 2_000) {
  let now = 1_000_000_000;
  const budget = createBudget(redis, { key: `${prefix}${crypto.randomUUID()}`, ratePerMinute, burst: 1, idleMs, now: () => now });
  return { budget, advance: (ms: number) => (now += ms), now: () => now };
}

/** Most grants in any window of `windowMs` among sorted grant times. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! > windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("GeckoTerminal budget", () => {
  it("the total never exceeds the provider limit in any 60 s, whoever asks and however often", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ consumer: fc.constantFrom(...GECKO_CONSUMERS), stepMs: fc.integer({ min: 0, max: 4_000 }) }), { minLength: 50, maxLength: 400 }),
        async (asks) => {
          const { budget, advance, now } = clocked(29);
          const granted: number[] = [];
          for (const ask of asks) {
            advance(ask.stepMs);
            if ((await budget.gate(ask.consumer).tryAcquire()).allowed) granted.push(now());
          }
          expect(maxInWindow(granted, 60_000)).toBeLessThanOrEqual(30);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a lower priority never starves a higher one: every busy consumer gets at least its own share", async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray([...GECKO_CONSUMERS], { minLength: 2 }), fc.integer({ min: 1, max: 3 }), async (busy, asksPerTick) => {
        const rate = 600;
        const { budget, advance } = clocked(rate);
        const got = new Map<string, number>(busy.map((name) => [name, 0]));
        const minutes = 1;
        // Every busy consumer asks several times every 20 ms, lowest priority first (the worst order for the others).
        const order = [...busy].sort((a, b) => GECKO_SHARES[b].priority - GECKO_SHARES[a].priority);
        for (let t = 0; t < minutes * 60_000; t += 20) {
          advance(20);
          for (const name of order) {
            for (let i = 0; i < asksPerTick; i++) if ((await budget.gate(name).tryAcquire()).allowed) got.set(name, got.get(name)! + 1);
          }
        }
        const rates = budget.shareRates();
        const total = [...got.values()].reduce((sum, n) => sum + n, 0);
        expect(total).toBeLessThanOrEqual(rate * minutes + 1);
        for (const name of busy) expect(got.get(name)!).toBeGreaterThanOrEqual(Math.floor(rates[name]! * minutes) - 2);
        // Nothing is lost: the busy consumers use the idle consumers' shares too.
        expect(total).toBeGreaterThanOrEqual(rate * minutes - busy.length * 2 - 5);
      }),
      { numRuns: 4 },
    );
  }, 120_000);

  it("idle shares are lent: a lone backfill gets the whole budget, and gives it back when others ask", async () => {
    const { budget, advance } = clocked(60);
    let backfill = 0;
    for (let t = 0; t < 60_000; t += 100) {
      advance(100);
      if ((await budget.gate("backfill").tryAcquire()).allowed) backfill++;
    }
    expect(backfill).toBeGreaterThanOrEqual(58);

    const counts = { backfill: 0, incremental: 0 };
    for (let t = 0; t < 60_000; t += 100) {
      advance(100);
      if ((await budget.gate("incremental").tryAcquire()).allowed) counts.incremental++;
      if ((await budget.gate("backfill").tryAcquire()).allowed) counts.backfill++;
    }
    // Incremental takes its own share, backfill's unused share and everyone's idle ones; backfill
    // keeps what is left of nothing but idle shares it reaches first.
    expect(counts.incremental + counts.backfill).toBeLessThanOrEqual(61);
    expect(counts.incremental).toBeGreaterThanOrEqual(Math.floor(budget.shareRates().incremental! + budget.shareRates().backfill!) - 2);
  });

  it("refuses a name without a share and a rate that is not positive", () => {
    const { budget } = clocked(30);
    expect(() => budget.gate("nobody")).toThrow(/no budget share named nobody/);
    expect(() => createBudget(redis, { key: `${prefix}x`, ratePerMinute: 0, burst: 1 })).toThrow(/ratePerMinute/);
  });
});
