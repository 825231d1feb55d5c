import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { type HealthConfig, loadHealthConfig } from "../../supabase/functions/_shared/health/config.ts";
import type { HealthCheck, HealthReport } from "../../supabase/functions/_shared/health/types.ts";

/** Round-trip limits far above a loaded test machine's, so no test depends on its speed. */
export const RELAXED_RESPONSE_TIMES = '{"postgres:responseTime":{"warn":5000,"fail":10000},"redis:responseTime":{"warn":5000,"fail":10000}}';

/** Health settings for tests: only the tracker is watched unless said otherwise, nothing cached. */
export function testHealthConfig(env: Record<string, string> = {}): HealthConfig {
  return loadHealthConfig({ HEALTH_FUNCTIONS: "tracker", HEALTH_CACHE_MS: "0", HEALTH_THRESHOLDS: RELAXED_RESPONSE_TIMES, ...env });
}

export interface RunSpec {
  fn?: string;
  outcome: "ok" | "partial" | "error" | "running";
  /** Seconds ago the run finished (started a second before). */
  secondsAgo: number;
  counts?: Record<string, number>;
  error?: string;
}

/** Inserts finished (or running) runs as if they had happened `secondsAgo`. */
export async function insertRuns(sql: Sql, runs: RunSpec[]): Promise<void> {
  for (const run of runs) {
    await sql`
      insert into peakwatch.runs (function_name, trigger, started_at, finished_at, outcome, counts, error)
      values (${run.fn ?? "tracker"}, 'test', now() - make_interval(secs => ${run.secondsAgo + 1}),
              ${run.outcome === "running" ? null : sql`now() - make_interval(secs => ${run.secondsAgo})`},
              ${run.outcome}, ${sql.json(run.counts ?? {})}, ${run.error ?? null})`;
  }
}

/** The one check called `name` (and `componentId`), or a test failure listing what there is. */
export function checkOf(report: HealthReport, name: string, componentId?: string): HealthCheck {
  const found = report.checks.filter((c) => c.name === name && (componentId === undefined || c.componentId === componentId));
  if (found.length !== 1) {
    throw new Error(`expected one ${name}${componentId ? `#${componentId}` : ""}, found ${found.length} among ${report.checks.map((c) => c.name).join(", ")}`);
  }
  return found[0]!;
}

/** Empties everything health reads, keeping the migrations' own rows (the manual source). */
export async function resetPipeline(sql: Sql): Promise<void> {
  await sql`truncate peakwatch.runs, peakwatch.tokens, peakwatch.alert_state, peakwatch.alert_outbox restart identity cascade`;
  await sql`delete from peakwatch.sources where name <> 'manual'`;
  await sql`truncate peakwatch.invocations`;
}
