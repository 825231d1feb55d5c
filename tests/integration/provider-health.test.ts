import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unavailableSeconds } from "../../supabase/functions/_shared/health/checks/providers.ts";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { breakerKey, createCircuitBreaker } from "../../supabase/functions/_shared/limits/breaker.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { checkOf, testHealthConfig } from "../helpers/health.ts";
import { redisUrl } from "../helpers/tracker.ts";

const prefix = `test:${randomBytes(4).toString("hex")}:`;
const redis = createRedis(redisUrl());
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await db.drop();
});

const breaker = (provider: string) => createCircuitBreaker(redis, { key: breakerKey(prefix, provider) });
const evaluate = () => evaluateHealth({ sql: db.sql, redis, config: testHealthConfig({ PEAKWATCH_REDIS_PREFIX: prefix }) });

describe("providers:unavailableFor", () => {
  it("passes while a provider answers, turns non-pass naming it once its breaker opens, fails after 10 minutes, and passes again after a good answer", async () => {
    const before = await evaluate();
    for (const provider of ["dexscreener", "geckoterminal"]) {
      expect(checkOf(before, "providers:unavailableFor", provider)).toMatchObject({ status: "pass", observedValue: 0, observedUnit: "s" });
    }

    const primary = breaker("dexscreener");
    for (let i = 0; i < 5; i++) await primary.recordFailure();
    const down = await evaluate();
    const reading = checkOf(down, "providers:unavailableFor", "dexscreener");
    expect(reading.status).toBe("warn");
    expect(reading.output).toMatch(/^dexscreener \(primary\) unavailable since .*breaker open until .*5 failures in a row.*the provider's fault/);
    expect(checkOf(down, "providers:unavailableFor", "geckoterminal").status).toBe("pass");
    expect(down.status).not.toBe("pass");

    // the outage began 11 minutes ago as the trackers saw it
    await redis.hset(`${breakerKey(prefix, "dexscreener")}:state`, "opened_at", String(Date.now() - 660_000));
    expect(checkOf(await evaluate(), "providers:unavailableFor", "dexscreener")).toMatchObject({ status: "fail" });

    await primary.recordSuccess();
    expect(checkOf(await evaluate(), "providers:unavailableFor", "dexscreener")).toMatchObject({ status: "pass", observedValue: 0 });
  });

  it("a half-open breaker counts as down until a probe answers, unless nobody has asked the provider for a minute", () => {
    const base = { failures: 6, openedAt: 1_000_000, openUntil: 1_060_000 };
    expect(unavailableSeconds({ ...base, state: "open", now: 1_030_000 })).toBe(30);
    expect(unavailableSeconds({ ...base, state: "half-open", now: 1_090_000 })).toBe(90);
    expect(unavailableSeconds({ ...base, state: "half-open", now: 1_060_000 + 60_000 })).toBe(0);
    expect(unavailableSeconds({ state: "closed", failures: 2, openedAt: null, openUntil: null, now: 1_000_000 })).toBe(0);
  });
});
