import { evalScript, luaScript, type Redis } from "./redis.ts";
import { sleep } from "./sleep.ts";

export interface RateLimitOptions {
  /** Redis key holding the limiter state; every caller sharing a provider quota uses the same key. */
  key: string;
  ratePerMinute: number;
  /**
   * How far callers may run ahead of the steady rate (integer ≥ 1): an idle limiter lets `burst`
   * requests through at once (one more as soon as the clock moves on).
   */
  burst: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** 0 when allowed; otherwise how long until a request would be allowed (ignoring other callers). */
  retryAfterMs: number;
}

export interface RateLimiter {
  tryAcquire(): Promise<RateLimitDecision>;
  /**
   * Waits until allowed and returns true; returns false at once when the wait would exceed
   * `maxWaitMs` (unbounded when omitted). Rejects with the signal's reason when it aborts.
   */
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}

/*
 * GCRA. T = ceil(60 s / ratePerMinute) in µs (rounded up, so never faster than the rate); the key
 * holds the theoretical arrival time TAT. At Redis time `now`, with tat = max(TAT, now), a request
 * is allowed iff tat - now < burst·T, and then TAT = tat + T.
 * Bound: take the n requests allowed in any closed window [a, a + W]. The first sees tat ≥ a, each
 * allow adds T, so the n-th sees tat ≥ a + (n-1)·T, yet tat < (a + W) + burst·T. Hence
 * n - 1 < W/T + burst ≤ ratePerMinute·W/60 s + burst: with W = 60 s at most ratePerMinute + burst
 * requests (for an integer rate), however many callers share the key — the script is atomic and
 * reads the clock from Redis (TIME), so caller clocks never enter.
 * acquire() reserves: when the next slot is at most maxWait away it takes it at once (TAT moves on
 * as if the request were made at now + wait) and the caller sleeps until then. A reservation is the
 * same decision the check would make at now + wait, so the bound holds; callers are served in the
 * order they asked (no polling, no herd waking at the same instant, no caller starved by others).
 */
const GCRA = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local wait = math.max(0, tat - tolerance - now + 1)
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return {1, wait}
`);

function validate(options: RateLimitOptions): void {
  if (!options.key) throw new RangeError("rate limiter needs a key");
  if (!(Number.isFinite(options.ratePerMinute) && options.ratePerMinute > 0)) {
    throw new RangeError(`ratePerMinute must be a positive number, got ${options.ratePerMinute}`);
  }
  if (!(Number.isInteger(options.burst) && options.burst >= 1)) throw new RangeError(`burst must be an integer ≥ 1, got ${options.burst}`);
}

export function createRateLimiter(redis: Redis, options: RateLimitOptions): RateLimiter {
  validate(options);
  const intervalUs = Math.ceil(60_000_000 / options.ratePerMinute);

  const reserve = async (maxWaitUs: number): Promise<{ reserved: boolean; waitUs: number }> => {
    const [reserved, waitUs] = (await evalScript(redis, GCRA, [options.key], [intervalUs, options.burst, maxWaitUs])) as [number, number];
    return { reserved: reserved === 1, waitUs };
  };

  const tryAcquire = async (): Promise<RateLimitDecision> => {
    const { reserved, waitUs } = await reserve(0);
    return { allowed: reserved, retryAfterMs: reserved ? 0 : Math.ceil(waitUs / 1000) };
  };

  const acquire = async (signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> => {
    signal?.throwIfAborted();
    const maxWaitUs = Number.isFinite(maxWaitMs) ? Math.max(0, Math.floor(maxWaitMs * 1000)) : -1;
    const { reserved, waitUs } = await reserve(maxWaitUs);
    if (!reserved) return false;
    // An abort while waiting gives up a reserved slot: the quota is wasted, never exceeded.
    if (waitUs > 0) await sleep(Math.ceil(waitUs / 1000), signal);
    return true;
  };

  return { tryAcquire, acquire };
}

/**
 * Shared quotas for the tracker's providers, below their documented ceilings: DexScreener's token
 * endpoints allow 300/min (≤ 295 here in any 60 s window), GeckoTerminal's public API 30/min (≤ 30).
 */
export function providerLimits(prefix = "peakwatch:limits:", geckoterminalPerMinute = 29) {
  return {
    dexscreener: { key: `${prefix}dexscreener:tokens`, ratePerMinute: 290, burst: 5 },
    // The total of GeckoTerminal's one budget (limits/budget.ts), which every consumer draws from.
    geckoterminal: { key: `${prefix}geckoterminal`, ratePerMinute: geckoterminalPerMinute, burst: 1 },
  } satisfies Record<string, RateLimitOptions>;
}
