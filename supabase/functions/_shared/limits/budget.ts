import { evalScript, luaScript, type Redis } from "./redis.ts";
import { sleep } from "./sleep.ts";

/**
 * GeckoTerminal's one budget (30 calls/min on the public API), shared by everything that calls it.
 * Highest priority first; the order is the issue's: the tracker's fallback (and the poller's
 * trending reads, which share its level), young-call verification, incremental candles, backfill.
 */
export const GECKO_CONSUMERS = ["fallback", "poller", "verification", "incremental", "backfill"] as const;
export type GeckoConsumer = (typeof GECKO_CONSUMERS)[number];

export interface ConsumerShare {
  /** Lower is more important. Consumers of equal priority lend to each other only when idle. */
  priority: number;
  /** Fraction of the total rate this consumer is guaranteed (shares are normalised to sum to 1). */
  share: number;
}

export const GECKO_SHARES: Record<GeckoConsumer, ConsumerShare> = {
  fallback: { priority: 0, share: 0.3 },
  poller: { priority: 0, share: 0.1 },
  verification: { priority: 1, share: 0.2 },
  incremental: { priority: 2, share: 0.3 },
  backfill: { priority: 3, share: 0.1 },
};

export interface BudgetOptions {
  /** Redis key of the total limiter; the consumers' keys hang off it. */
  key: string;
  /** The ceiling for everyone together (calls per minute). */
  ratePerMinute: number;
  /** Burst of the total limiter (integer ≥ 1): at most ratePerMinute + burst calls in any 60 s. */
  burst: number;
  shares?: Record<string, ConsumerShare>;
  /** A consumer that has not asked for this long lends its share to whoever asks (highest priority first). */
  idleMs?: number;
  /** Test clock (ms); Redis TIME when omitted. */
  now?: () => number;
}

export interface BudgetDecision {
  allowed: boolean;
  /** 0 when allowed; else a wait after which asking again is worthwhile. */
  retryAfterMs: number;
  /** Whose share paid for the call: the consumer itself, a lender, or null when refused. */
  paidBy: string | null;
  /** Budget time of the decision (ms). */
  at: number;
}

export interface BudgetGate {
  readonly consumer: string;
  tryAcquire(): Promise<BudgetDecision>;
  /** Same contract as the GCRA limiter's: true once a slot is taken, false when none comes within maxWaitMs. */
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}

export interface Budget {
  gate(consumer: string): BudgetGate;
  /** The configured per-minute rate of each consumer's own share. */
  shareRates(): Record<string, number>;
}

/*
 * One atomic decision per call, on one clock (Redis TIME, or the test clock):
 * 1. The total GCRA (rate R, burst B) bounds everyone together: at most R + B calls in any 60 s,
 *    whatever the consumers do, because every grant below also takes a total slot.
 * 2. Each consumer has its own share: a GCRA at share·R (shares sum to R). A call is paid from it
 *    whenever it has credit; nobody else can take credit its owner is using, so a busy consumer
 *    always gets its share, whatever the others do.
 * 3. Otherwise the call borrows the credit of a consumer that has not asked for `idleMs`: unused
 *    share is lent, not lost. While a consumer of higher priority is
 *    waiting, lower priorities do not borrow, so spare credit goes to the highest priority asking;
 *    backfill, last, takes what is left. Lenders of the lowest priority are drawn first.
 *
 * KEYS: total, then per consumer (share TAT, waiting until, last asked), in config order.
 * ARGV: now_us (-1 = TIME), consumer index (1-based), idle_us, total interval, total burst, count,
 *       then per consumer: interval_us, priority.
 */
const BUDGET = luaScript(`
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local me = tonumber(ARGV[2])
local idle = tonumber(ARGV[3])
local total_interval = tonumber(ARGV[4])
local total_burst = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local function cfg(i) return tonumber(ARGV[6 + (i - 1) * 2 + 1]), tonumber(ARGV[6 + (i - 1) * 2 + 2]) end
local function key(i, k) return KEYS[1 + (i - 1) * 3 + k] end
local function raw(k) return tonumber(redis.call('GET', k) or '0') end
local function wait_of(stored, interval, burst) return math.max(0, math.max(stored, now) - burst * interval - now + 1) end
local function store(k, tat) redis.call('SET', k, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 60000) end
local function deny(wait)
  redis.call('SET', key(me, 2), string.format('%.0f', now + wait + total_interval), 'PX', math.ceil((wait + total_interval) / 1000) + 1)
  return {0, wait, 0, now}
end

local my_interval, my_priority = cfg(me)
redis.call('SET', key(me, 3), string.format('%.0f', now), 'PX', math.ceil(idle / 1000) + 1000)
local total = raw(KEYS[1])
local total_wait = wait_of(total, total_interval, total_burst)
local mine = raw(key(me, 1))
local my_wait = wait_of(mine, my_interval, 1)

local payer = 0
if my_wait == 0 then
  payer = me
else
  local outranked = false
  for i = 1, n do
    local _, priority = cfg(i)
    if priority < my_priority and raw(key(i, 2)) > now then outranked = true end
  end
  if not outranked then
    local best = -1
    for i = 1, n do
      local interval, priority = cfg(i)
      if i ~= me and priority > best and raw(key(i, 3)) + idle <= now and wait_of(raw(key(i, 1)), interval, 1) == 0 then
        payer = i
        best = priority
      end
    end
  end
end
if payer == 0 then return deny(math.max(total_wait, math.min(my_wait, total_interval))) end
if total_wait > 0 then return deny(total_wait) end

local payer_interval = cfg(payer)
store(key(payer, 1), math.max(raw(key(payer, 1)), now) + payer_interval)
store(KEYS[1], math.max(total, now) + total_interval)
redis.call('DEL', key(me, 2))
return {1, 0, payer, now}
`);

export function createBudget(redis: Redis, options: BudgetOptions): Budget {
  const shares: Record<string, ConsumerShare> = options.shares ?? GECKO_SHARES;
  const names = Object.keys(shares);
  if (!options.key) throw new RangeError("budget needs a key");
  if (!(Number.isFinite(options.ratePerMinute) && options.ratePerMinute > 0)) throw new RangeError(`ratePerMinute must be positive, got ${options.ratePerMinute}`);
  if (!(Number.isInteger(options.burst) && options.burst >= 1)) throw new RangeError(`burst must be an integer ≥ 1, got ${options.burst}`);
  const sum = names.reduce((total, name) => total + shares[name]!.share, 0);
  if (!(sum > 0) || names.some((name) => !(shares[name]!.share > 0))) throw new RangeError("every budget share must be positive");

  const rateOf = (name: string) => (options.ratePerMinute * shares[name]!.share) / sum;
  const keys = [options.key, ...names.flatMap((name) => [`${options.key}:share:${name}`, `${options.key}:waiting:${name}`, `${options.key}:seen:${name}`])];
  const perConsumer = names.flatMap((name) => [Math.ceil(60_000_000 / rateOf(name)), shares[name]!.priority]);
  const totalInterval = Math.ceil(60_000_000 / options.ratePerMinute);
  const idleUs = Math.round((options.idleMs ?? 2_000) * 1000);

  const gate = (consumer: string): BudgetGate => {
    const index = names.indexOf(consumer) + 1;
    if (index === 0) throw new RangeError(`no budget share named ${consumer}`);
    const tryAcquire = async (): Promise<BudgetDecision> => {
      const nowUs = options.now ? Math.round(options.now() * 1000) : -1;
      const [allowed, waitUs, payer, at] = (await evalScript(redis, BUDGET, keys, [nowUs, index, idleUs, totalInterval, options.burst, names.length, ...perConsumer])) as [number, number, number, number];
      return { allowed: allowed === 1, retryAfterMs: Math.ceil(waitUs / 1000), paidBy: payer > 0 ? names[payer - 1]! : null, at: at / 1000 };
    };
    const acquire = async (signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> => {
      const deadline = Date.now() + maxWaitMs;
      for (;;) {
        signal?.throwIfAborted();
        const decision = await tryAcquire();
        if (decision.allowed) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        // Polls, a little after the slot is due; jitter keeps instances from waking as one.
        const pause = Math.min(left, Math.max(5, decision.retryAfterMs) + Math.random() * 20);
        await sleep(pause, signal);
        if (Date.now() >= deadline) return false;
      }
    };
    return { consumer, tryAcquire, acquire };
  };

  return { gate, shareRates: () => Object.fromEntries(names.map((name) => [name, rateOf(name)])) };
}

/** GeckoTerminal's budget for everything under one Redis prefix (the `limits.geckoterminal` key). */
export function geckoBudget(redis: Redis, limit: { key: string; ratePerMinute: number; burst: number }): Budget {
  return createBudget(redis, { key: limit.key, ratePerMinute: limit.ratePerMinute, burst: limit.burst });
}
