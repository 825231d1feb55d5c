import { wrapRedisError } from "../../limits/redis.ts";
import { type AreaResult, type CheckContext, reading, round } from "../reading.ts";

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * Round trip of `select 1`, taken before the other checks load the pool. A slow first answer is
 * asked again: opening a connection (TLS, pooler) in a fresh isolate is not the database's latency.
 */
export async function postgresCheck(ctx: CheckContext): Promise<AreaResult> {
  const warn = ctx.config.thresholds["postgres:responseTime"]?.warn ?? 0;
  let ms: number;
  try {
    ms = await timed(() => ctx.sql`select 1`);
    if (ms >= warn) ms = await timed(() => ctx.sql`select 1`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { checks: [reading(ctx, "postgres:responseTime", null, `select 1 failed: ${reason.slice(0, 300)}`)] };
  }
  return { checks: [reading(ctx, "postgres:responseTime", round(ms), `select 1 answered in ${round(ms)} ms`)] };
}

/** Round trip of PING (after connecting, if the client has not yet); an unreachable Redis fails with the reason (host:port, never the URL). */
export async function redisCheck(ctx: CheckContext): Promise<AreaResult> {
  const redis = ctx.redis;
  if (!redis) return { checks: [], notes: ["no Redis client configured: redis:responseTime skipped"] };
  let ms: number;
  try {
    if (redis.status !== "ready") await redis.ping();
    ms = await timed(() => redis.ping());
  } catch (error) {
    const wrapped = wrapRedisError(redis, error);
    const reason = wrapped instanceof Error ? wrapped.message : "unknown error";
    return { checks: [reading(ctx, "redis:responseTime", null, `PING failed: ${reason}`)] };
  }
  return { checks: [reading(ctx, "redis:responseTime", round(ms), `PING answered in ${round(ms)} ms`)] };
}
