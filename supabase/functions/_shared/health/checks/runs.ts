import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import type { HealthCheck } from "../types.ts";

const runHealthRow = z.object({
  function_name: z.string(),
  last_success_at: z.string().nullable(),
  success_age_seconds: z.number().nullable(),
  last_started_at: z.string().nullable(),
  last_outcome: z.string().nullable(),
  consecutive_errors: z.number(),
  recent_runs: z.number(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
});

/**
 * Per watched function: seconds since its last ok/partial run finished (a stopped tracker fails
 * within its limit) and the streak of error outcomes ending at its latest run.
 */
export async function runChecks(ctx: CheckContext): Promise<AreaResult> {
  const { functions, recentRuns } = ctx.config;
  const rows = z.array(runHealthRow).parse(await ctx.sql`select * from peakwatch.run_health(${functions}::text[], ${recentRuns}::int)`);
  const checks: HealthCheck[] = [];
  for (const row of rows) {
    const fn = row.function_name;
    checks.push(
      reading(
        ctx,
        `${fn}:lastSuccessAge`,
        row.success_age_seconds === null ? null : Math.max(0, row.success_age_seconds),
        row.last_success_at === null ? `no successful ${fn} run on record` : `last ok/partial ${fn} run finished at ${isoTime(row.last_success_at)}`,
      ),
      reading(
        ctx,
        `${fn}:consecutiveErrors`,
        row.consecutive_errors,
        row.recent_runs === 0
          ? `no finished ${fn} run on record`
          : `latest run ${row.last_outcome ?? "unknown"} (started ${isoTime(row.last_started_at)}); ${row.consecutive_errors} error(s) in a row` +
            (row.last_error ? `; last error at ${isoTime(row.last_error_at)}: ${row.last_error.slice(0, 300)}` : ""),
      ),
    );
  }
  const summaryRow = rows.find((row) => row.function_name === "tracker") ?? rows[0];
  return {
    checks,
    summary: {
      lastRun: summaryRow?.last_started_at
        ? { function: summaryRow.function_name, startedAt: isoTime(summaryRow.last_started_at), outcome: summaryRow.last_outcome ?? "unknown" }
        : null,
    },
  };
}
