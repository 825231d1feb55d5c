import { EventEmitter } from "node:events";
import { Logger, run, runMigrations, type WorkerEvents } from "graphile-worker";
import postgres from "postgres";
import { assertDrained, drainResult, type DrainConfig, type DrainResult } from "./drain.ts";

// Errors only: graphile-worker logs one info line per completed job.
const logger = new Logger(() => (level, message) => {
  if (level === "error") console.error(`graphile-worker: ${message}`);
});

/**
 * graphile-worker 0.16 has no batched fetching (`localQueue`) or debounced completion: each worker
 * fetches and completes one job per round trip, so its batch is 1 whatever the others use. Timed
 * from run() (pool start included, a few ms) to the last job's completion.
 */
export async function benchGraphile(url: string, config: DrainConfig): Promise<DrainResult> {
  await runMigrations({ connectionString: url, logger });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`
      select graphile_worker.add_jobs(array(
        select row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec
        from generate_series(1, ${config.items}::int)
      ))`;
    await sql`vacuum analyze graphile_worker._private_jobs`;

    let completed = 0;
    let ended = 0;
    let finished!: () => void;
    const allDone = new Promise<void>((resolve) => (finished = resolve));
    // Subscribed before run() so no completion is missed while it starts up.
    const events = new EventEmitter() as WorkerEvents;
    events.on("job:complete", () => {
      if (++completed !== config.items) return;
      ended = performance.now();
      finished();
    });
    const started = performance.now();
    const runner = await run({
      connectionString: url,
      concurrency: config.workers,
      noHandleSignals: true,
      pollInterval: 100,
      logger,
      events,
      taskList: { noop: async () => {} },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, config.deadline - Date.now()))));
    try {
      await Promise.race([allDone, timeUp]);
    } finally {
      clearTimeout(timer);
      if (ended === 0) ended = performance.now();
      await runner.stop();
    }
    const result = drainResult(
      "graphile-worker",
      config,
      { processed: completed, seconds: (ended - started) / 1000, batch: 1 },
      `run(concurrency ${config.workers}), 0.16 defaults: one job per fetch and per completion`,
    );
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
    assertDrained(result, left!.n, "jobs");
    return result;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
