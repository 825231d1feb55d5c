import { describe, expect, it } from "vitest";
import { withRetry, type RetryOptions } from "../../supabase/functions/_shared/limits/retry.ts";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status}`);
  }
}

/** A fake clock that only moves when the code under test sleeps. */
function harness(overrides: Partial<RetryOptions> = {}) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const options: RetryOptions = {
    retries: 5,
    baseMs: 100,
    capMs: 1_000,
    random: () => 1,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    isRetryable: (error) => error instanceof HttpError && (error.status === 429 || error.status >= 500),
    retryAfterMs: (error) => (error instanceof HttpError ? error.retryAfterMs : undefined),
    ...overrides,
  };
  return { options, sleeps, clock: () => clock };
}

/** fn failing with the given errors in turn, then resolving "ok". */
function failing(...errors: Error[]) {
  let calls = 0;
  const fn = async (attempt: number) => {
    expect(attempt).toBe(calls);
    calls++;
    const error = errors.shift();
    if (error) throw error;
    return "ok";
  };
  return { fn, calls: () => calls };
}

describe("withRetry", () => {
  it("returns the first success without sleeping", async () => {
    const { options, sleeps } = harness();
    const { fn, calls } = failing();
    await expect(withRetry(fn, options)).resolves.toBe("ok");
    expect(calls()).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("backoff doubles from baseMs and stops growing at capMs", async () => {
    const { options, sleeps } = harness({ retries: 6 });
    const { fn, calls } = failing(...Array.from({ length: 6 }, () => new HttpError(503)));
    await expect(withRetry(fn, options)).resolves.toBe("ok");
    expect(calls()).toBe(7);
    expect(sleeps).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("full jitter draws from [0, backoff], equal jitter from [backoff/2, backoff]", async () => {
    const full = harness({ random: () => 0.25 });
    await withRetry(failing(new HttpError(503), new HttpError(503), new HttpError(503)).fn, full.options);
    expect(full.sleeps).toEqual([25, 50, 100]);

    const equal = harness({ random: () => 0.25, jitter: "equal" });
    await withRetry(failing(new HttpError(503), new HttpError(503), new HttpError(503)).fn, equal.options);
    expect(equal.sleeps).toEqual([62.5, 125, 250]);
  });

  it("waits at least the server's Retry-After, even beyond capMs", async () => {
    const { options, sleeps } = harness({ random: () => 0 });
    await expect(withRetry(failing(new HttpError(429, 5_000), new HttpError(429, 50)).fn, options)).resolves.toBe("ok");
    expect(sleeps).toEqual([5_000, 50]);
  });

  it("a longer backoff wins over a shorter Retry-After", async () => {
    const { options, sleeps } = harness();
    await withRetry(failing(new HttpError(503), new HttpError(429, 10)).fn, options);
    expect(sleeps).toEqual([100, 200]);
  });

  it("gives up with the last error once retries are used up", async () => {
    const { options, sleeps } = harness({ retries: 2 });
    const last = new HttpError(502);
    const { fn, calls } = failing(new HttpError(503), new HttpError(500), last);
    await expect(withRetry(fn, options)).rejects.toBe(last);
    expect(calls()).toBe(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it("non-retryable errors pass through at once, unchanged", async () => {
    const { options, sleeps } = harness();
    const notFound = new HttpError(404);
    const { fn, calls } = failing(notFound);
    await expect(withRetry(fn, options)).rejects.toBe(notFound);
    expect(calls()).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("never waits past the deadline: gives up with the last error instead", async () => {
    const { options, sleeps, clock } = harness({ retries: 10 });
    options.deadlineMs = clock() + 350;
    const errors = Array.from({ length: 10 }, (_, index) => new HttpError(503 + index));
    const { fn, calls } = failing(...errors);
    // Waits 100 (t+100), 200 (t+300); the next wait of 400 would end past t+350.
    await expect(withRetry(fn, options)).rejects.toBe(errors[2]);
    expect(calls()).toBe(3);
    expect(sleeps).toEqual([100, 200]);
    expect(clock()).toBeLessThan(options.deadlineMs);
  });

  it("a Retry-After that ends past the deadline is not waited for", async () => {
    const { options, sleeps } = harness();
    options.deadlineMs = options.now!() + 30_000;
    const limited = new HttpError(429, 60_000);
    await expect(withRetry(failing(limited).fn, options)).rejects.toBe(limited);
    expect(sleeps).toEqual([]);
  });

  it("reports each retry before sleeping", async () => {
    const seen: { attempt: number; delayMs: number }[] = [];
    const { options } = harness({ onRetry: ({ attempt, delayMs }) => seen.push({ attempt, delayMs }) });
    await withRetry(failing(new HttpError(503), new HttpError(429, 700)).fn, options);
    expect(seen).toEqual([
      { attempt: 0, delayMs: 100 },
      { attempt: 1, delayMs: 700 },
    ]);
  });

  it("an abort during the wait rejects with the signal's reason and makes no further attempt", async () => {
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const { options } = harness({
      signal: controller.signal,
      sleep: async () => controller.abort(reason),
    });
    const { fn, calls } = failing(new HttpError(503), new HttpError(503));
    await expect(withRetry(fn, options)).rejects.toBe(reason);
    expect(calls()).toBe(1);
  });

  it("the real sleep is used by default and can be aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 10);
    const { fn, calls } = failing(new HttpError(503), new HttpError(503));
    await expect(withRetry(fn, { retries: 3, baseMs: 60_000, capMs: 60_000, random: () => 1, signal: controller.signal })).rejects.toBe(reason);
    expect(calls()).toBe(1);
  });
});
