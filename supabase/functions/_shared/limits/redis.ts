import { Redis } from "ioredis";

export type { Redis };

/** Bound for every command, queued or sent; the Lua scripts here run in microseconds. */
const COMMAND_TIMEOUT_MS = 2_000;

const lastConnectionError = new WeakMap<Redis, Error>();

/**
 * One client per isolate, created at module scope; it connects on first use. Every command
 * settles within COMMAND_TIMEOUT_MS: refused or unresolvable hosts fail after one reconnect
 * (`maxRetriesPerRequest: 1`), silent hosts hit `connectTimeout`, and a server that accepts the
 * connection but never answers hits `commandTimeout` (without it ioredis waits forever). The
 * offline queue stays on so the first command after `lazyConnect` waits for the connection
 * instead of failing at once.
 */
export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableOfflineQueue: true,
  });
  // Also keeps ioredis from printing "Unhandled error event" on every reconnect attempt.
  redis.on("error", (error: Error) => lastConnectionError.set(redis, error));
  redis.on("ready", () => lastConnectionError.delete(redis));
  return redis;
}

export class RedisUnreachableError extends Error {
  override name = "RedisUnreachableError";
  constructor(
    readonly target: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Redis unreachable at ${target} (${reason})`, options);
  }
}

const CONNECTIVITY_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);
const CONNECTIVITY_MESSAGES = [/max retries per request/i, /command timed out/i, /connection is closed/i, /stream isn't writeable/i];

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
    ? (error as { code: string }).code
    : undefined;

/** host:port (or socket path) from the client's parsed options: never the URL, which may carry a password. */
export function redisTarget(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? path : `${host ?? "localhost"}:${port ?? 6379}`;
}

/**
 * Turns ioredis' assorted connectivity failures into one RedisUnreachableError naming host:port
 * and the underlying cause (e.g. ECONNREFUSED); any other error (a Redis reply error, a bug) is
 * returned unchanged.
 */
export function wrapRedisError(redis: Redis, error: unknown): unknown {
  if (error instanceof RedisUnreachableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  const connectivity = (code !== undefined && CONNECTIVITY_CODES.has(code)) || CONNECTIVITY_MESSAGES.some((pattern) => pattern.test(message));
  if (!connectivity) return error;
  const underlying = lastConnectionError.get(redis);
  const reason = errorCode(underlying) ?? code ?? (/command timed out/i.test(message) ? `no reply within ${COMMAND_TIMEOUT_MS} ms` : message);
  return new RedisUnreachableError(redisTarget(redis), reason, { cause: error });
}

export interface LuaScript {
  readonly source: string;
  sha?: Promise<string>;
}

export const luaScript = (source: string): LuaScript => ({ source });

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** EVALSHA, falling back to EVAL when the server has not seen the script (restart, new server). */
export async function evalScript(redis: Redis, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    const sha = await (script.sha ??= sha1Hex(script.source));
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return await redis.eval(script.source, keys.length, ...keys, ...args);
    }
  } catch (error) {
    throw wrapRedisError(redis, error);
  }
}
