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
 * after the function's last answered invocation, so the alarm clears once it answers again. A
 * request still pending whose answer pg_net already holds (net._http_response) counts with that
 * answer now, graded as collect_invocation_results() grades it, instead of at the next collection
 * up to a minute later: a wrong key shows within a minute of the first request it spoils. Reads the
 * last hour's invocations (BRIN range) and pending rows older than ten minutes only.
 */
export async function invocationChecks(ctx: CheckContext): Promise<AreaResult> {
  const present = await presentRelations(ctx.sql, ["peakwatch.invocations", "net._http_response"]);
  if (!present.has("peakwatch.invocations")) return { checks: [], notes: ["invocation checks skipped: the invocation log is not installed"] };
  const responses = present.has("net._http_response")
    ? ctx.sql`net._http_response`
    : ctx.sql`(select null::bigint as id, null::integer as status_code, null::boolean as timed_out, null::text as error_msg where false)`;
  const [failedRows, [unresolved]] = await Promise.all([
    ctx.sql`
      with seen as materialized (
        select i.function_name, i.requested_at,
          case when i.outcome <> 'pending' then i.outcome
               when r.id is null then 'pending'
               when r.timed_out or r.error_msg is not null or r.status_code is null or r.status_code >= 300 then 'failed'
               else 'ok' end as outcome,
          coalesce(i.error, case when r.id is null then null
                                 when r.timed_out then 'timed out'
                                 when r.error_msg is not null then left(r.error_msg, 500)
                                 else 'HTTP ' || coalesce(r.status_code::text, '?') end) as error,
          coalesce(i.status_code, r.status_code) as status_code
        from peakwatch.invocations i
        left join ${responses} r on i.outcome = 'pending' and r.id = i.request_id
        where i.requested_at > now() - interval '1 hour' and i.function_name = any (${ctx.config.functions}::text[])
      )
      select f.name as function_name,
        (select count(*) from (
          select 1 from seen x
          where x.function_name = f.name and x.outcome = 'failed' and x.requested_at > s.since
          limit ${CAP}) c)::int as failed,
        l.error as last_error, l.status_code as last_status, l.requested_at as last_at
      from unnest(${ctx.config.functions}::text[]) as f(name)
      -- the window: the last hour, from the function's last answered invocation on (a failure it has
      -- recovered from clears)
      cross join lateral (
        select greatest(now() - interval '1 hour', coalesce(max(o.requested_at), '-infinity')) as since
        from seen o where o.function_name = f.name and o.outcome = 'ok'
      ) s
      left join lateral (
        select x.error, x.status_code, x.requested_at from seen x
        where x.function_name = f.name and x.outcome = 'failed' and x.requested_at > s.since
        order by x.requested_at desc limit 1
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
