import type { MarketSimulator } from "../../dev/market-sim/server.ts";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { sleep } from "../../supabase/functions/_shared/limits/sleep.ts";
import { buildLanes } from "../../supabase/functions/_shared/tracker/deps.ts";
import { runTracker, type TrackerSettings } from "../../supabase/functions/_shared/tracker/run-tracker.ts";
import { emptyStats, type TrackerStats } from "../../supabase/functions/_shared/tracker/stats.ts";

export interface FleetOptions {
  dbUrl: string;
  redisUrl: string;
  /** Shared by every tracker, so they share one limiter and one breaker per provider. */
  keyPrefix: string;
  sim: MarketSimulator;
  trackers: number;
  timeBudgetMs: number;
  settings: Partial<TrackerSettings>;
  /** Per tracker; undefined claims from every chain (the default fan-out). */
  chainsFor?: (tracker: number) => string[] | undefined;
}

export interface Invocation {
  tracker: number;
  worker: string;
  startedAt: string;
  stats: TrackerStats;
  error?: string;
}

export interface Fleet {
  /** Aborts every running invocation (as a shutdown would), waits for them and closes pools. */
  stop(): Promise<Invocation[]>;
}

/**
 * `trackers` tracker instances, each like an isolate of its own: a 2-connection Postgres pool and a
 * Redis client. Each runs invocations back to back with the same time budget, as cron plus the
 * orchestrator's fan-out keep one running per slot.
 */
export function startFleet(options: FleetOptions): Fleet {
  const controller = new AbortController();
  const invocations: Invocation[] = [];

  const slot = async (tracker: number): Promise<void> => {
    const sql = createSql(options.dbUrl, { max: 2, applicationName: `bench-tracker-${tracker}` });
    const redis = createRedis(options.redisUrl);
    const lanes = buildLanes(redis, {
      dexscreenerBaseUrl: options.sim.url,
      geckoterminalBaseUrl: options.sim.geckoterminalUrl,
      keyPrefix: options.keyPrefix,
    });
    try {
      for (let n = 1; !controller.signal.aborted; n++) {
        const worker = `bench-tracker-${tracker}-${n}`;
        const startedAt = new Date().toISOString();
        try {
          const stats = await runTracker({
            sql,
            worker,
            ...lanes,
            timeBudgetMs: options.timeBudgetMs,
            chains: options.chainsFor?.(tracker),
            signal: controller.signal,
            settings: options.settings,
          });
          invocations.push({ tracker, worker, startedAt, stats });
        } catch (error) {
          invocations.push({ tracker, worker, startedAt, stats: emptyStats(), error: error instanceof Error ? error.message : String(error) });
          // the next cron tick would start a fresh invocation; do not spin
          await sleep(1_000, controller.signal).catch(() => {});
        }
      }
    } finally {
      await sql.end({ timeout: 2 });
      redis.disconnect();
    }
  };

  const running = Promise.all(Array.from({ length: options.trackers }, (_, i) => slot(i)));
  return {
    async stop() {
      controller.abort(new Error("bench: phase over"));
      await running;
      return invocations;
    },
  };
}

/** Field-by-field sum of every invocation's stats. */
export function totalStats(invocations: Invocation[]): TrackerStats {
  const total = emptyStats();
  for (const { stats } of invocations) {
    for (const key of Object.keys(total) as (keyof TrackerStats)[]) total[key] += stats[key];
  }
  return total;
}
