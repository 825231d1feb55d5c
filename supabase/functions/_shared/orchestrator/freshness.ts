import type { Sql } from "../db/client.ts";

export interface FunctionFreshness {
  function_name: string;
  last_ok_at: string | null;
  seconds_since_ok: number | null;
}

/**
 * Last successful run per function, by the one definition health uses too: `peakwatch.run_health`
 * (a run that finished ok or partial; one index probe each, runs_last_success_idx).
 */
export async function lastSuccess(sql: Sql, functions: readonly string[]): Promise<FunctionFreshness[]> {
  return await sql<FunctionFreshness[]>`
    select h.function_name, h.last_success_at as last_ok_at, h.success_age_seconds as seconds_since_ok
    from peakwatch.run_health(${functions as string[]}::text[], 1) h`;
}

/** Tokens one tracker priced per minute over its recent runs; null without history. */
export async function trackerThroughput(sql: Sql): Promise<number | null> {
  const [row] = await sql<{ per_minute: number | null }[]>`
    select sum((counts->>'priced')::float8) / nullif(sum((counts->>'durationMs')::float8), 0) * 60000 as per_minute
    from (
      select counts from peakwatch.runs
      where function_name = 'tracker' and started_at > now() - interval '1 hour'
        and outcome in ('ok', 'partial') and (counts->>'priced')::int > 0
      order by started_at desc limit 10
    ) recent`;
  return row?.per_minute ?? null;
}
