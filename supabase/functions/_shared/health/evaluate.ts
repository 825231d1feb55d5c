import type { Sql } from "../db/client.ts";
import type { Redis } from "../limits/redis.ts";
import { postgresCheck, redisCheck } from "./checks/connectivity.ts";
import { candleChecks } from "./checks/candles.ts";
import { credentialChecks } from "./checks/credentials.ts";
import { deployChecks } from "./checks/deploy.ts";
import { cronChecks } from "./checks/cron.ts";
import { freshnessChecks } from "./checks/freshness.ts";
import { invocationChecks } from "./checks/invocations.ts";
import { pipelineChecks } from "./checks/pipeline.ts";
import { providerYieldChecks } from "./checks/provider-yield.ts";
import { providerChecks } from "./checks/providers.ts";
import { queueChecks } from "./checks/queue.ts";
import { runChecks } from "./checks/runs.ts";
import { sourceChecks } from "./checks/sources.ts";
import type { HealthConfig } from "./config.ts";
import type { AreaResult, CheckContext } from "./reading.ts";
import { affectsStatus } from "./thresholds.ts";
import { type HealthCheck, type HealthReport, type HealthSummary, worst } from "./types.ts";

export interface HealthDeps {
  sql: Sql;
  redis?: Redis;
  config: HealthConfig;
}

type Area = readonly [name: string, run: (ctx: CheckContext) => Promise<AreaResult>];

/** Areas reading Postgres, evaluated concurrently; each is isolated: one failing never hides the others. */
const DATABASE_AREAS: readonly Area[] = [
  ["runs", runChecks],
  ["queue", queueChecks],
  ["tokens", freshnessChecks],
  ["pipeline", pipelineChecks],
  ["providers", providerYieldChecks],
  ["sources", sourceChecks],
  ["invocations", invocationChecks],
  ["credentials", credentialChecks],
  ["cron", cronChecks],
  ["deploy", deployChecks],
  ["candles", candleChecks],
];

class Timeout extends Error {
  override name = "Timeout";
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** An area that could not be read is itself a failing check, with the reason for the service key only. */
const failedArea = (area: string, time: string, reason: string): AreaResult => ({
  checks: [{ name: `${area}:evaluation`, componentType: "component", observedValue: null, observedUnit: "", status: "fail", time, output: reason }],
});

/**
 * Each area reads in its own read-only transaction with `SET LOCAL statement_timeout` (safe through a
 * transaction-mode pooler, unlike a session SET or a startup option): a query that overruns its
 * budget is cancelled by Postgres instead of holding a pooled connection the pipeline needs.
 */
function inBoundedTransaction(run: (ctx: CheckContext) => Promise<AreaResult>, ctx: CheckContext): Promise<AreaResult> {
  return ctx.sql.begin("read only", async (tx) => {
    await tx`select set_config('statement_timeout', ${String(ctx.config.checkTimeoutMs)}, true)`;
    return run({ ...ctx, sql: tx as unknown as Sql });
  });
}

async function runArea([name, run]: Area, ctx: CheckContext, options: { bounded?: boolean } = {}): Promise<AreaResult> {
  try {
    return await withTimeout(options.bounded ? inBoundedTransaction(run, ctx) : run(ctx), ctx.config.checkTimeoutMs + 250);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return failedArea(name, ctx.time, `could not evaluate ${name} checks: ${reason.slice(0, 500)}`);
  }
}

/**
 * Every check, once. Postgres is pinged first (an unreachable database fails every database area at
 * once instead of N timeouts); the rest run concurrently on the pool, Redis beside them.
 */
export async function evaluateHealth(deps: HealthDeps): Promise<HealthReport> {
  const started = performance.now();
  const ctx: CheckContext = { ...deps, time: new Date().toISOString() };
  const ping = await runArea(["postgres", postgresCheck], ctx);
  const reachable = ping.checks[0]?.observedValue !== null;
  const results = [
    ping,
    ...(await Promise.all([
      runArea(["redis", redisCheck], ctx),
      runArea(["providers", providerChecks], ctx),
      ...DATABASE_AREAS.map((area) =>
        reachable ? runArea(area, ctx, { bounded: true }) : Promise.resolve(failedArea(area[0], ctx.time, `not evaluated: ${ping.checks[0]?.output ?? "postgres unreachable"}`))
      ),
    ])),
  ];
  const checks: HealthCheck[] = results.flatMap((result) => result.checks);
  const summary: HealthSummary = { lastRun: null, unprocessedTokens: null, averageLag: null };
  for (const result of results) Object.assign(summary, result.summary);
  return {
    status: worst(checks.filter((check) => affectsStatus(check.name)).map((check) => check.status)),
    time: ctx.time,
    summary,
    checks,
    notes: results.flatMap((result) => result.notes ?? []),
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  };
}

/**
 * Health is public and polled by several checkers: concurrent requests share one evaluation
 * (single flight) and a result is reused for `ttlMs`. After that, until it is `maxAgeMs` old, the
 * last result is answered at once while one evaluation refreshes it in the background; past
 * `maxAgeMs` (10 s) requests wait for the fresh one. The database sees at most one evaluation per
 * interval per isolate, and a flood of requests never queues behind it.
 */
export function cachedEvaluation(evaluate: () => Promise<HealthReport>, ttlMs: number, maxAgeMs = 10_000): () => Promise<HealthReport> {
  let inFlight: Promise<HealthReport> | undefined;
  let last: { at: number; report: HealthReport } | undefined;
  const refresh = () =>
    (inFlight ??= evaluate()
      .then((report) => {
        last = { at: Date.now(), report };
        return report;
      })
      .finally(() => {
        inFlight = undefined;
      }));
  return () => {
    const age = last ? Date.now() - last.at : Number.POSITIVE_INFINITY;
    if (last && age < ttlMs) return Promise.resolve(last.report);
    // HEALTH_CACHE_MS=0 means every request evaluates (still one at a time): no stale answers at all.
    if (last && ttlMs > 0 && age < Math.max(ttlMs, maxAgeMs)) {
      refresh().catch(() => {});
      return Promise.resolve(last.report);
    }
    return refresh();
  };
}
