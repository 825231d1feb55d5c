import { evalScript, luaScript, wrapRedisError, type Redis } from "./redis.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Redis key prefix for this provider's breaker; every tracker instance uses the same one. */
  key: string;
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /** How long the breaker stays open before one probe is let through. */
  openMs?: number;
  /** How long a probe may take before another caller may probe instead (covers a crashed prober). */
  probeMs?: number;
}

export interface CircuitBreaker {
  /**
   * True while calls should be skipped. Once `openMs` has passed (half-open) it returns false to
   * exactly one caller — the probe — per `probeMs`, and true to everyone else.
   */
  isOpen(): Promise<boolean>;
  /** Any success closes the breaker and resets the failure count. */
  recordSuccess(): Promise<void>;
  /** Counts a failure; returns the state afterwards. A failed probe (or any failure while half-open) re-opens. */
  recordFailure(): Promise<BreakerState>;
  /** Read-only view, for health and logs. */
  state(): Promise<BreakerState>;
  /** Read-only view with the figures behind the state, for health. */
  snapshot(): Promise<BreakerSnapshot>;
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Consecutive failures so far (reset by any success). */
  failures: number;
  /** When the breaker last opened from closed (an outage's start as the trackers saw it); null while closed. */
  openedAt: number | null;
  /** When the current open period ends (a probe is let through after it); null while closed. */
  openUntil: number | null;
  /** Redis time of the reading, ms. */
  now: number;
}

// Shared preamble: Redis time in ms and the stored open_until (0 = closed).
const NOW_AND_OPEN_UNTIL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
`;

const IS_OPEN = luaScript(`${NOW_AND_OPEN_UNTIL}
if open_until == 0 then return 0 end
if now < open_until then return 1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
return 1
`);

// A failure while open came from a call started before the breaker opened: it does not extend it.
const RECORD_FAILURE = luaScript(`${NOW_AND_OPEN_UNTIL}
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local state = 'closed'
if open_until > 0 and now < open_until then
  state = 'open'
elseif open_until > 0 or failures >= tonumber(ARGV[1]) then
  if open_until == 0 then redis.call('HSET', KEYS[1], 'opened_at', string.format('%.0f', now)) end
  redis.call('HSET', KEYS[1], 'open_until', string.format('%.0f', now + tonumber(ARGV[2])))
  redis.call('DEL', KEYS[2])
  state = 'open'
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return state
`);

const STATE = luaScript(`${NOW_AND_OPEN_UNTIL}
if open_until == 0 then return 'closed' end
if now < open_until then return 'open' end
return 'half-open'
`);

const SNAPSHOT = luaScript(`${NOW_AND_OPEN_UNTIL}
local fields = redis.call('HMGET', KEYS[1], 'failures', 'opened_at')
return {string.format('%.0f', now), string.format('%.0f', open_until), fields[1] or '0', fields[2] or '0'}
`);

/** A provider quiet for this long (beyond openMs) starts again from a clean, closed breaker. */
const FORGET_AFTER_MS = 3_600_000;

/** The Redis key of a provider's breaker, shared by every tracker (and read by health). */
export const breakerKey = (prefix: string, provider: string): string => `${prefix}breaker:${provider}`;

export function createCircuitBreaker(redis: Redis, options: BreakerOptions): CircuitBreaker {
  const failureThreshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 30_000;
  const probeMs = options.probeMs ?? openMs;
  if (!options.key) throw new RangeError("circuit breaker needs a key");
  if (!(Number.isInteger(failureThreshold) && failureThreshold >= 1)) throw new RangeError(`failureThreshold must be an integer ≥ 1, got ${failureThreshold}`);
  for (const [name, value] of [["openMs", openMs], ["probeMs", probeMs]] as const) {
    if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  const keys = [`${options.key}:state`, `${options.key}:probe`];

  return {
    isOpen: async () => (await evalScript(redis, IS_OPEN, keys, [probeMs])) === 1,
    // One DEL of both keys is atomic: the count, the open period and any probe token go together.
    recordSuccess: async () => {
      await redis.del(...keys).catch((error: unknown) => {
        throw wrapRedisError(redis, error);
      });
    },
    recordFailure: async () => (await evalScript(redis, RECORD_FAILURE, keys, [failureThreshold, openMs, openMs + FORGET_AFTER_MS])) as BreakerState,
    state: async () => (await evalScript(redis, STATE, keys, [])) as BreakerState,
    snapshot: async () => {
      const [now, openUntil, failures, openedAt] = ((await evalScript(redis, SNAPSHOT, keys, [])) as string[]).map(Number) as [number, number, number, number];
      const state: BreakerState = openUntil === 0 ? "closed" : now < openUntil ? "open" : "half-open";
      return { state, failures, openedAt: openUntil === 0 ? null : openedAt || null, openUntil: openUntil === 0 ? null : openUntil, now };
    },
  };
}
