import { evalScript, luaScript, type Redis, wrapRedisError } from "../../limits/redis.ts";
import { sleep as defaultSleep } from "../../limits/sleep.ts";

const RENEW = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
const RELEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface SocketLock {
  /** Extends the lease while the session runs; false when it was lost (another holder now). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * At most one market-data socket per Tradovate account: a Redis lease (SET NX PX) held for the
 * session and renewed while it runs. Tradovate itself closes the oldest connection (and revokes its
 * token) when a user goes over its limit, so two collectors on one account would knock each other
 * out; with this lock the second waits, or gives up and reports the streams as busy.
 */
export async function acquireSocketLock(
  redis: Redis,
  key: string,
  options: { ttlMs: number; waitMs: number; signal: AbortSignal; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> },
): Promise<{ lock: SocketLock; waitedMs: number } | null> {
  const owner = crypto.randomUUID();
  const sleep = options.sleep ?? defaultSleep;
  const started = Date.now();
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    let taken: string | null;
    try {
      taken = await redis.set(key, owner, "PX", options.ttlMs, "NX");
    } catch (error) {
      throw wrapRedisError(redis, error);
    }
    if (taken === "OK") {
      return {
        waitedMs: Date.now() - started,
        lock: {
          renew: async () => (await evalScript(redis, RENEW, [key], [owner, options.ttlMs])) === 1,
          release: async () => {
            await evalScript(redis, RELEASE, [key], [owner]).catch(() => {});
          },
        },
      };
    }
    if (Date.now() - started + delay > options.waitMs || options.signal.aborted) return null;
    await sleep(delay, options.signal).catch(() => {});
  }
}
