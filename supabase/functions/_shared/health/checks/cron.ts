import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import { presentRelations } from "./present.ts";

const cronRow = z.object({
  active_jobs: z.number(),
  inactive: z.array(z.string()),
  failed_runs: z.number(),
  failed_jobs: z.array(z.string()),
  last_failure: z.string().nullable(),
  last_start: z.string().nullable(),
  last_start_age_seconds: z.number().nullable(),
});

/**
 * pg_cron's view of the schedule: failed job runs over the last hour that their job has not
 * succeeded since (so the alarm clears when the fault does), peakwatch jobs switched off,
 * and the age of the newest job run (a stopped scheduler). Reads the newest 2,000 run records by
 * primary key only: cron.job_run_details has no other index.
 */
export async function cronChecks(ctx: CheckContext): Promise<AreaResult> {
  const present = await presentRelations(ctx.sql, ["cron.job", "cron.job_run_details"]);
  if (present.size < 2) return { checks: [], notes: ["cron checks skipped: pg_cron is not installed in this database"] };
  const [row] = await ctx.sql`
    with jobs as (
      select j.jobid, j.jobname, j.active from cron.job j where j.jobname like 'peakwatch-%'
    ), recent as (
      select d.jobid, d.status, d.return_message, d.start_time from cron.job_run_details d
      order by d.runid desc
      limit 2000
    ), failed as (
      select r.*, j.jobname from recent r join jobs j using (jobid)
      where r.status = 'failed' and r.start_time > now() - interval '1 hour'
        -- a failure the job has since recovered from is history, not an alarm
        and r.start_time > coalesce((select max(s.start_time) from recent s where s.jobid = r.jobid and s.status = 'succeeded'), '-infinity')
    )
    select
      (select count(*) from jobs where active)::int as active_jobs,
      coalesce((select array_agg(jobname order by jobname) from jobs where not active), '{}') as inactive,
      (select count(*) from failed)::int as failed_runs,
      coalesce((select array_agg(distinct jobname) from failed), '{}') as failed_jobs,
      (select f.jobname || ': ' || left(coalesce(f.return_message, ''), 300) from failed f order by f.start_time desc limit 1) as last_failure,
      (select max(r.start_time) from recent r join jobs j using (jobid)) as last_start,
      extract(epoch from now() - (select max(r.start_time) from recent r join jobs j using (jobid)))::float8 as last_start_age_seconds`;
  const cron = cronRow.parse(row);
  const checks = [
    reading(
      ctx,
      "cron:failedRuns",
      cron.failed_runs,
      cron.failed_runs === 0 ? "no peakwatch job run failed without succeeding since, in the last hour" : `failed in the last hour and not succeeded since: ${cron.failed_jobs.join(", ")}; latest ${cron.last_failure}`,
    ),
    reading(ctx, "cron:inactiveJobs", cron.inactive.length, cron.inactive.length === 0 ? `${cron.active_jobs} peakwatch jobs active` : `inactive: ${cron.inactive.join(", ")}`),
  ];
  const notes: string[] = [];
  if (cron.active_jobs === 0) notes.push("no active peakwatch pg_cron job: cron:lastRunAge skipped");
  else {
    checks.push(
      reading(
        ctx,
        "cron:lastRunAge",
        cron.last_start_age_seconds === null ? null : Math.max(0, cron.last_start_age_seconds),
        cron.last_start ? `newest peakwatch job run started at ${isoTime(cron.last_start)}` : "no peakwatch job run on record",
      ),
    );
  }
  return { checks, notes };
}
