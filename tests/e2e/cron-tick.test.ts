import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient } from "../../dev/lib/postgres.ts";
import { type PgNetWorker, startPgNetWorker } from "../../dev/lib/pgnet-worker.ts";
import { readStackSettings } from "../../dev/lib/settings.ts";
import { type Recorder, startRecorder } from "../helpers/recorder.ts";

// pg_cron runs jobs only in its own database (cron.database_name), so this test schedules one job
// there, under a name of its own, and removes it afterwards.
const { dbUrl } = readStackSettings();
const jobName = `peakwatch-e2e-tick-${randomBytes(4).toString("hex")}`;
const sql = adminClient(dbUrl);
let host: Recorder;
let worker: PgNetWorker;

beforeAll(async () => {
  host = await startRecorder();
  worker = await startPgNetWorker(dbUrl, { pollMs: 500 });
});
afterAll(async () => {
  await sql`select cron.unschedule(jobid) from cron.job where jobname = ${jobName}`;
  await worker.stop();
  await host.close();
  await sql.end();
});

describe("a real pg_cron tick", () => {
  it("fires the job on the minute, and its net.http_post reaches the HTTP endpoint after commit", async () => {
    const command = `select net.http_post(url := '${host.url}/functions/v1/tick', body := '{"trigger": "cron"}'::jsonb, timeout_milliseconds := 5000)`;
    await sql`select cron.schedule(${jobName}, '* * * * *', ${command})`;
    const deadline = Date.now() + 75_000;
    while (host.requests.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(host.requests.length).toBeGreaterThanOrEqual(1);
    expect(host.requests[0]).toMatchObject({ method: "POST", path: "/functions/v1/tick" });
    expect(JSON.parse(host.requests[0]!.body)).toEqual({ trigger: "cron" });
    const runs = await sql<{ status: string }[]>`
      select d.status from cron.job_run_details d join cron.job j on j.jobid = d.jobid where j.jobname = ${jobName}`;
    expect(runs.map((r) => r.status)).toContain("succeeded");
  }, 90_000);
});
