import { afterAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createCircuitBreaker, type BreakerOptions } from "../../supabase/functions/_shared/limits/breaker.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { sleep } from "../../supabase/functions/_shared/limits/sleep.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `test:${crypto.randomUUID()}:`;
const clients: Redis[] = [];
const client = () => {
  const redis = createRedis(redisUrl);
  clients.push(redis);
  return redis;
};
const admin = client();

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  for (const redis of clients) redis.disconnect();
});

/** Two tracker instances on separate connections sharing one provider's breaker. */
const pair = (name: string, options: Omit<BreakerOptions, "key"> = {}) => {
  const key = `${prefix}${name}`;
  return [createCircuitBreaker(client(), { key, ...options }), createCircuitBreaker(client(), { key, ...options })] as const;
};

// Long enough that back-to-back calls land inside the open period even on a loaded machine.
const OPEN_MS = 500;

describe("circuit breaker", () => {
  it("stays closed below the threshold and opens on the threshold-th consecutive failure", async () => {
    const [breaker] = pair("threshold", { failureThreshold: 3 });
    expect(await breaker.recordFailure()).toBe("closed");
    expect(await breaker.recordFailure()).toBe("closed");
    expect(await breaker.isOpen()).toBe(false);
    expect(await breaker.recordFailure()).toBe("open");
    expect(await breaker.isOpen()).toBe(true);
    expect(await breaker.state()).toBe("open");
  });

  it("a success resets the count: failures must be consecutive", async () => {
    const [breaker] = pair("consecutive", { failureThreshold: 3 });
    await breaker.recordFailure();
    await breaker.recordFailure();
    await breaker.recordSuccess();
    expect(await breaker.recordFailure()).toBe("closed");
    expect(await breaker.recordFailure()).toBe("closed");
    expect(await breaker.isOpen()).toBe(false);
  });

  it("failures from two instances add up, and both see the breaker open", async () => {
    const [a, b] = pair("shared", { failureThreshold: 4 });
    await Promise.all([a.recordFailure(), b.recordFailure(), a.recordFailure()]);
    expect(await b.isOpen()).toBe(false);
    await b.recordFailure();
    expect(await a.isOpen()).toBe(true);
    expect(await b.isOpen()).toBe(true);
  });

  it("failures while open do not extend the open period", async () => {
    const [breaker] = pair("straggler", { failureThreshold: 1, openMs: 60_000 });
    await breaker.recordFailure();
    const ttl = await admin.pttl(`${prefix}straggler:state`);
    expect(await breaker.recordFailure()).toBe("open");
    const openUntil = await admin.hget(`${prefix}straggler:state`, "open_until");
    await breaker.recordFailure();
    expect(await admin.hget(`${prefix}straggler:state`, "open_until")).toBe(openUntil);
    expect(ttl).toBeGreaterThan(60_000);
  });

  it("after openMs exactly one caller across instances gets the half-open probe", async () => {
    const [a, b] = pair("probe", { failureThreshold: 2, openMs: OPEN_MS });
    await a.recordFailure();
    await b.recordFailure();
    expect(await a.isOpen()).toBe(true);
    await sleep(OPEN_MS + 50);
    expect(await a.state()).toBe("half-open");
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 ? a : b).isOpen()));
    expect(answers.filter((open) => !open)).toHaveLength(1);
  });

  it("a successful probe closes the breaker for every instance", async () => {
    const [a, b] = pair("probe-ok", { failureThreshold: 1, openMs: OPEN_MS });
    await a.recordFailure();
    await sleep(OPEN_MS + 50);
    expect(await b.isOpen()).toBe(false); // b is the probe
    expect(await a.isOpen()).toBe(true);
    await b.recordSuccess();
    expect(await a.state()).toBe("closed");
    expect(await a.isOpen()).toBe(false);
    expect(await b.isOpen()).toBe(false);
  });

  it("a failed probe re-opens the breaker for another openMs", async () => {
    const [a, b] = pair("probe-fail", { failureThreshold: 1, openMs: OPEN_MS });
    await a.recordFailure();
    await sleep(OPEN_MS + 50);
    expect(await b.isOpen()).toBe(false);
    expect(await b.recordFailure()).toBe("open");
    expect(await a.isOpen()).toBe(true);
    expect(await b.isOpen()).toBe(true);
    await sleep(OPEN_MS + 50);
    // The re-open cleared the old probe token, so a new probe is allowed.
    expect(await a.isOpen()).toBe(false);
    expect(await b.isOpen()).toBe(true);
  });

  it("a prober that never reports lets another caller probe after probeMs", async () => {
    const [a, b] = pair("probe-lost", { failureThreshold: 1, openMs: OPEN_MS, probeMs: OPEN_MS });
    await a.recordFailure();
    await sleep(OPEN_MS + 50);
    expect(await a.isOpen()).toBe(false); // a probes, then crashes without recording
    expect(await b.isOpen()).toBe(true);
    await sleep(OPEN_MS + 50);
    expect(await b.isOpen()).toBe(false);
  });

  it("rejects nonsense options", () => {
    expect(() => createCircuitBreaker(admin, { key: `${prefix}x`, failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => createCircuitBreaker(admin, { key: `${prefix}x`, openMs: -1 })).toThrow(/openMs/);
  });
});
