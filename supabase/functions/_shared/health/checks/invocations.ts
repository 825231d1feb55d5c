import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import { presentRelations } from "./present.ts";

const failedRow = z.object({
  function_name: z.string(),
  failed: z.number(),
  last_error: z.string().nullable(),
  last_status: z.number().nullable(),
  last_at: z.string().nullable(),
});

const CAP = 1000;

/**
 * HTTP outcomes of the requests pg_cron and the orchestrator sent (peakwatch.invocations): a 401 or
 * 404 from a function is invisible to pg_cron, so it is counted here: failures of the last hour
 * after the function's last answered invocation, so the alarm clears once it answers again. Index
 * ranges over the last hour's rows and over pending rows older than ten minutes only.
 */
export async function invocationChecks(ctx: CheckContext): Promise<AreaResult> {
  const present = await presentRelations(ctx.sql, ["peakwatch.invocations"]);
  if (!present.has("peakwatch.invocations")) return { checks: [], notes: ["invocation checks skipped: the invocation log is not installed"] };
  const [failedRows, [unresolved]] = await Promise.all([
    ctx.sql`
      select f.name as function_name,
        (select count(*) from (
          select 1 from peakwatch.invocations i
          where i.function_name = f.name and i.outcome = 'failed' and i.requested_at > s.since
          limit ${CAP}) x)::int as failed,
        l.error as last_error, l.status_code as last_status, l.requested_at as last_at
      from unnest(${ctx.config.functions}::text[]) as f(name)
      -- the window: the last hour, from the function's last answered invocation on (a failure it has
      -- recovered from clears)
      cross join lateral (
        select greatest(now() - interval '1 hour', coalesce(max(o.requested_at), '-infinity')) as since
        from peakwatch.invocations o
        where o.function_name = f.name and o.outcome = 'ok' and o.requested_at > now() - interval '1 hour'
      ) s
      left join lateral (
        select i.error, i.status_code, i.requested_at from peakwatch.invocations i
        where i.function_name = f.name and i.outcome = 'failed' and i.requested_at > s.since
        order by i.requested_at desc limit 1
      ) l on true`,
    ctx.sql<{ n: number }[]>`
      select count(*)::int as n from (
        select 1 from peakwatch.invocations i
        where i.outcome = 'pending' and i.requested_at < now() - interval '10 minutes'
        limit ${CAP}) x`,
  ]);
  const checks = z.array(failedRow).parse(failedRows).map((row) =>
    reading(
      ctx,
      "invocations:failed",
      row.failed,
      row.failed === 0
        ? `no failed ${row.function_name} invocation since its last success (window: 1 hour)`
        : `${row.failed} failed since its last success (window: 1 hour); latest at ${isoTime(row.last_at)}: ${row.last_error ?? `HTTP ${row.last_status ?? "-"}`}`,
      { componentId: row.function_name },
    )
  );
  checks.push(
    reading(ctx, "invocations:unresolved", unresolved!.n, `${unresolved!.n} requests without a collected outcome after 10 minutes`),
  );
  return { checks };
}
