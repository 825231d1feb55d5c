import { z } from "zod";
import { evalScript, luaScript, type Redis, wrapRedisError } from "../limits/redis.ts";

/** An access token as cached in Redis; the key's TTL is its real expiry. */
export interface StoredToken {
  accessToken: string;
  /** Tradovate's market-data token: issued with the access token, same expiry, same key and TTL. */
  mdAccessToken?: string;
  /** When the md token was issued (a renewal carries it forward, so it can be older than the access token). */
  mdIssuedAt?: number;
  expiresAt: number;
  issuedAt: number;
  /** Tells one refresh's token from another's without comparing token values. */
  id: string;
}

/** What a failed refresher leaves for the callers waiting on it, so they stop waiting at once. */
export interface RefreshFailure {
  id: string;
  at: number;
  message: string;
}

/** Everything a caller needs to decide, read in one round trip. */
export interface CacheState {
  token: StoredToken | null;
  failure: RefreshFailure | null;
  locked: boolean;
  /** How long until the upstream may be asked again after a failed refresh (0: now). */
  backoffMs: number;
}

const storedToken = z.object({ accessToken: z.string().min(1), mdAccessToken: z.string().min(1).optional(), mdIssuedAt: z.number().optional(), expiresAt: z.number(), issuedAt: z.number(), id: z.string().min(1) });
const refreshFailure = z.object({ id: z.string(), at: z.number(), message: z.string() });

const FAILURE_TTL_MS = 300_000;

const READ_STATE = luaScript(`
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('EXISTS', KEYS[3]), redis.call('PTTL', KEYS[4])}
`);

// The failure record (for waiters) and the back-off (for everyone) in one step. ARGV: json, failure ttl, back-off ms.
const FAIL = luaScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]) end
return 1
`);

// Writes unless the cache holds a different token that lives longer — a refresher whose lock ran
// out never replaces a newer token with its older one. ARGV: json, ttl ms, id replaced, expiresAt.
const WRITE_TOKEN = luaScript(`
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and stored.id ~= ARGV[3] and tonumber(stored.expiresAt or 0) > tonumber(ARGV[4]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

const RELEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

function parse<T>(schema: z.ZodType<T>, raw: unknown): T | null {
  if (typeof raw !== "string") return null;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface TokenCache {
  read(): Promise<CacheState>;
  /** True when written; false when a longer-lived token from another refresh is already there. */
  write(token: StoredToken, replacing: string | null, now: number): Promise<boolean>;
  /** SET NX PX: true for exactly one caller until released or `ttlMs` passes. */
  lock(owner: string, ttlMs: number): Promise<boolean>;
  unlock(owner: string): Promise<void>;
  /** Records a failed refresh; nobody asks the upstream again for `backoffMs`. */
  fail(failure: RefreshFailure, backoffMs: number): Promise<void>;
}

/** The Redis keys of one credential: `<prefix>credentials:<name>:{token,failure,lock,backoff}`. */
export function tokenCache(redis: Redis, keyPrefix: string, credential: string): TokenCache {
  const base = `${keyPrefix}credentials:${credential}:`;
  const keys = { token: `${base}token`, failure: `${base}failure`, lock: `${base}lock`, backoff: `${base}backoff` };
  const direct = async <T>(command: () => Promise<T>): Promise<T> => {
    try {
      return await command();
    } catch (error) {
      throw wrapRedisError(redis, error);
    }
  };

  return {
    async read() {
      const [token, failure, locked, backoffMs] = (await evalScript(redis, READ_STATE, [keys.token, keys.failure, keys.lock, keys.backoff], [])) as [
        unknown,
        unknown,
        number,
        number,
      ];
      return { token: parse(storedToken, token), failure: parse(refreshFailure, failure), locked: locked === 1, backoffMs: Math.max(0, backoffMs) };
    },
    async write(token, replacing, now) {
      const ttlMs = Math.floor(token.expiresAt - now);
      if (ttlMs <= 0) return false;
      const written = await evalScript(redis, WRITE_TOKEN, [keys.token], [JSON.stringify(token), ttlMs, replacing ?? "", token.expiresAt]);
      return written === 1;
    },
    lock: async (owner, ttlMs) => (await direct(() => redis.set(keys.lock, owner, "PX", ttlMs, "NX"))) === "OK",
    async unlock(owner) {
      await evalScript(redis, RELEASE, [keys.lock], [owner]);
    },
    async fail(failure, backoffMs) {
      await evalScript(redis, FAIL, [keys.failure, keys.backoff], [JSON.stringify(failure), FAILURE_TTL_MS, Math.floor(backoffMs)]);
    },
  };
}
