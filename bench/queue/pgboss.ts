import PgBoss from "pg-boss";
import { assertDrained, drain, drainResult, type DrainConfig, type DrainResult } from "./drain.ts";

const QUEUE = "bench";
const INSERT_CHUNK = 10_000;

export async function benchPgBoss(url: string, config: DrainConfig): Promise<DrainResult> {
  const boss = new PgBoss({
    connectionString: url,
    schema: "pgboss_bench",
    application_name: "peakwatch-bench-pgboss",
    max: config.workers,
    // No maintenance, monitoring or cron timekeeping competing with the drain.
    supervise: false,
    schedule: false,
  });
  boss.on("error", (error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  try {
    await boss.createQueue(QUEUE);
    for (let from = 0; from < config.items; from += INSERT_CHUNK) {
      const size = Math.min(INSERT_CHUNK, config.items - from);
      await boss.insert(Array.from({ length: size }, () => ({ name: QUEUE, data: {} })));
    }
    const db = boss.getDb();
    await db.executeSql("vacuum analyze pgboss_bench.job", []);
    // fetch() only sees jobs whose start_after (insert time) is strictly in the past.
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Open every pool connection before the clock starts, as the other systems do.
    await Promise.all(Array.from({ length: config.workers }, () => db.executeSql("select pg_sleep(0.05)", [])));

    const run = await drain(config, async () => {
      const jobs = await boss.fetch(QUEUE, { batchSize: config.batch });
      if (jobs.length === 0) return 0;
      await boss.complete(QUEUE, jobs.map((job) => job.id));
      return jobs.length;
    });
    const result = drainResult("pg-boss", config, run, `fetch(batchSize ${config.batch}) -> complete(ids), one pool of ${config.workers}, supervise/schedule/monitoring off`);
    assertDrained(result, await boss.getQueueSize(QUEUE, { before: "completed" }), "jobs");
    return result;
  } finally {
    await boss.stop({ graceful: false, wait: true, close: true });
  }
}
