import { adminClient } from "./postgres.ts";

/**
 * The migrations schedule the jobs that call functions in the app database. Until `npm start` has
 * stored the functions URL and key they can only fail, every minute, so the stack keeps them paused
 * (tests and `npm run stack` leave nothing firing), `npm start` resumes them once it has set both
 * and pauses them again when it stops.
 * SQL-only jobs (collecting invocation outcomes, housekeeping) always run.
 */
export async function setFunctionJobsActive(dbUrl: string, active: boolean): Promise<number> {
  const sql = adminClient(dbUrl);
  try {
    const [present] = await sql<{ ok: boolean }[]>`select to_regclass('cron.job') is not null as ok`;
    if (!present?.ok) return 0;
    const rows = await sql<{ jobid: number }[]>`
      select j.jobid from cron.job j
      where j.jobname like 'peakwatch-%' and j.command like '%invoke_function%' and j.active <> ${active}`;
    for (const { jobid } of rows) await sql`select cron.alter_job(${jobid}::bigint, active := ${active})`;
    return rows.length;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Whether the functions URL and key the cron helper reads are set (npm start sets them). */
export async function functionSettingsPresent(dbUrl: string): Promise<boolean> {
  const sql = adminClient(dbUrl);
  try {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.settings where key in ('peakwatch_functions_url', 'peakwatch_service_key')`;
    return row?.n === 2;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
