import { createServer, type AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRateLimiter, providerLimits, type RateLimiter } from "../../supabase/functions/_shared/limits/gcra.ts";
import { createRedis, RedisUnreachableError } from "../../supabase/functions/_shared/limits/redis.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `test:${crypto.randomUUID()}:`;
const clients: Redis[] = [];
const client = (url = redisUrl) => {
  const redis = createRedis(url);
  clients.push(redis);
  return redis;
};
const admin = client();

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  for (const redis of clients) redis.disconnect();
});

const redisNowUs = async () => {
  const [seconds, micros] = await admin.time();
  return Number(seconds) * 1_000_000 + Number(micros);
};

/**
 * GCRA's bound for any closed window of W µs: n - 1 < W/T + burst, with T = ceil(60e6 / rate).
 * With W = 60 s that is ratePerMinute + burst; short windows let a test check it in seconds.
 */
/** Takes every slot currently free, so the next request has to wait. */
async function exhaust(limiter: RateLimiter) {
  while ((await limiter.tryAcquire()).allowed);
}

const maxAllowed = (windowUs: number, ratePerMinute: number, burst: number) => Math.ceil(windowUs / Math.ceil(60_000_000 / ratePerMinute) + burst);

/** `instances` limiters on their own connections, each with `lanes` requests in flight, for `ms`. */
async function hammer(key: string, ratePerMinute: number, burst: number, instances: number, lanes: number, ms: number) {
  const limiters = Array.from({ length: instances }, () => createRateLimiter(client(), { key, ratePerMinute, burst }));
  await Promise.all(clients.map((redis) => redis.ping()));
  let allowed = 0;
  let denied = 0;
  const startUs = await redisNowUs();
  const stopAt = performance.now() + ms;
  await Promise.all(
    limiters.flatMap((limiter) =>
      Array.from({ length: lanes }, async () => {
        while (performance.now() < stopAt) {
          if ((await limiter.tryAcquire()).allowed) allowed++;
          else denied++;
        }
      }),
    ),
  );
  const endUs = await redisNowUs();
  return { allowed, denied, windowUs: endUs - startUs };
}

describe("GCRA rate limiter", () => {
  it("4 instances hammering one key together never exceed rate + burst over the window", async () => {
    const ratePerMinute = 3_000; // one every 20 ms
    const burst = 5;
    const { allowed, denied, windowUs } = await hammer(`${prefix}shared`, ratePerMinute, burst, 4, 4, 1_500);
    expect(denied).toBeGreaterThan(0);
    expect(allowed).toBeGreaterThan(burst);
    expect(allowed).toBeLessThanOrEqual(maxAllowed(windowUs, ratePerMinute, burst));
  });

  it("an idle limiter lets `burst` requests through at once (one more as the clock moves), then paces them", async () => {
    const limiter = createRateLimiter(client(), { key: `${prefix}burst`, ratePerMinute: 60, burst: 3 });
    const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.tryAcquire()));
    const allowed = decisions.filter((decision) => decision.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(3);
    expect(allowed).toBeLessThanOrEqual(4);
    for (const decision of decisions.filter((d) => !d.allowed)) {
      expect(decision.retryAfterMs).toBeGreaterThan(0);
      expect(decision.retryAfterMs).toBeLessThanOrEqual(1_000);
    }
  });

  it("the provider defaults stay under the documented ceilings, and the DexScreener quota holds under contention", async () => {
    const limits = providerLimits(prefix);
    expect(limits.dexscreener.ratePerMinute + limits.dexscreener.burst).toBeLessThan(300);
    expect(limits.geckoterminal.ratePerMinute + limits.geckoterminal.burst).toBeLessThanOrEqual(30);
    const { allowed, windowUs } = await hammer(limits.dexscreener.key, limits.dexscreener.ratePerMinute, limits.dexscreener.burst, 4, 2, 300);
    expect(allowed).toBeGreaterThanOrEqual(5);
    expect(allowed).toBeLessThanOrEqual(maxAllowed(windowUs, 290, 5));
  });

  it("acquire waits for the next slot and then succeeds", async () => {
    const limiter = createRateLimiter(client(), { key: `${prefix}wait`, ratePerMinute: 600, burst: 1 });
    await exhaust(limiter);
    const next = await limiter.tryAcquire();
    expect(next.allowed).toBe(false);
    const started = performance.now();
    expect(await limiter.acquire(undefined, 5_000)).toBe(true);
    // Only a lower bound: it did wait rather than skip the limit.
    expect(performance.now() - started).toBeGreaterThanOrEqual(next.retryAfterMs / 2);
  });

  it("acquire returns false at once when the wait would exceed maxWaitMs", async () => {
    const limiter = createRateLimiter(client(), { key: `${prefix}maxwait`, ratePerMinute: 1, burst: 1 });
    await exhaust(limiter);
    expect(await limiter.acquire(undefined, 100)).toBe(false);
    expect((await limiter.tryAcquire()).allowed).toBe(false);
  });

  it("acquire rejects with the signal's reason when aborted while waiting", async () => {
    const limiter = createRateLimiter(client(), { key: `${prefix}abort`, ratePerMinute: 1, burst: 1 });
    await exhaust(limiter);
    const controller = new AbortController();
    const reason = new Error("budget spent");
    setTimeout(() => controller.abort(reason), 20);
    await expect(limiter.acquire(controller.signal)).rejects.toBe(reason);
  });

  it("state expires once the limiter is idle", async () => {
    const key = `${prefix}ttl`;
    await createRateLimiter(client(), { key, ratePerMinute: 600, burst: 2 }).tryAcquire();
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(101);
  });

  it("rejects nonsense options", () => {
    expect(() => createRateLimiter(admin, { key: `${prefix}x`, ratePerMinute: 0, burst: 1 })).toThrow(/ratePerMinute/);
    expect(() => createRateLimiter(admin, { key: `${prefix}x`, ratePerMinute: 10, burst: 0 })).toThrow(/burst/);
  });

  it("an unreachable Redis fails with one clear error naming host:port, without the password", async () => {
    const limiter = createRateLimiter(client("redis://:hunter2@127.0.0.1:1"), { key: `${prefix}down`, ratePerMinute: 60, burst: 1 });
    const error = await limiter.tryAcquire().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toBe("Redis unreachable at 127.0.0.1:1 (ECONNREFUSED)");
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("a server that accepts connections but never answers gives the same error instead of a hang", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const limiter = createRateLimiter(client(`redis://127.0.0.1:${port}`), { key: `${prefix}silent`, ratePerMinute: 60, burst: 1 });
      await expect(limiter.tryAcquire()).rejects.toThrow(`Redis unreachable at 127.0.0.1:${port} (no reply within 2000 ms)`);
    } finally {
      silent.close();
    }
  });
});
