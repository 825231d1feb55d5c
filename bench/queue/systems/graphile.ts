import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import { Logger, run, runMigrations, type Runner, type WorkerEvents } from "graphile-worker";
import postgres from "postgres";
import { CONCURRENCY, noop, type QueueSystem, WORKERS } from "../harness.ts";

export interface GraphileVariant {
  /** null: library defaults (one job per fetch, one commit per job, a log line per job). */
  localQueueSize: number | null;
}

// Tuned: errors only. (The child also runs with NO_LOG_SUCCESS=1, which the library reads at load.)
const errorsOnly = new Logger(() => (level, message) => {
  if (level === "error") console.error(`graphile-worker: ${message}`);
});

/**
 * graphile-worker: WORKERS runners (each its own pg pool, default size 10), each with
 * CONCURRENCY concurrent jobs. Producing is graphile_worker.add_jobs in one statement.
 * Its workers do not await their completions, so the end of a drain is read from the database.
 * The clock starts at the NOTIFY that wakes the runners: their first fetch follows it at once,
 * and no fetch can find work before the producer's commit that sends it.
 */
export function graphileSystem(url: string, variant: GraphileVariant): QueueSystem {
  const tuned = variant.localQueueSize !== null;
  const workerPreset = tuned
    ? { concurrentJobs: CONCURRENCY, localQueue: { size: variant.localQueueSize! }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
    : { concurrentJobs: CONCURRENCY };
  let producer: postgres.Sql | undefined;
  const runners: Runner[] = [];

  return {
    name: tuned ? `graphile-worker tuned (localQueue ${variant.localQueueSize})` : "graphile-worker defaults",
    settings: tuned
      ? { runners: WORKERS, concurrentJobs: CONCURRENCY, "localQueue.size": variant.localQueueSize!, completeJobBatchDelay: 0, failJobBatchDelay: 0, NO_LOG_SUCCESS: "1", logger: "errors only" }
      : { runners: WORKERS, concurrentJobs: CONCURRENCY, logger: "default console logger (stdout discarded)" },
    // The worker calls completeJob without awaiting it (batched or not): job:complete fires before the commit.
    completionsBatchedInternally: true,
    async install() {
      await runMigrations({ connectionString: url, logger: errorsOnly });
      producer = postgres(url, { max: 1, onnotice: () => {} });
      await producer`select 1`;
    },
    async produce(n) {
      await producer!`
        select graphile_worker.add_jobs(array(
          select row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec
          from generate_series(1, ${n}::int)
        ))`;
    },
    async start(probe) {
      const events = new EventEmitter() as WorkerEvents;
      let listening = 0;
      let ready!: () => void;
      const allListening = new Promise<void>((resolve) => (ready = resolve));
      events.on("pool:listen:success", () => {
        if (++listening === WORKERS) ready();
      });
      events.on("pool:listen:notification", () => probe.claimed(performance.now(), 1));
      // Fetches are counted, not timed (graphile-worker emits no event when one starts).
      if (tuned) events.on("localQueue:getJobs:complete", () => probe.roundTrip("claim"));
      else events.on("worker:getJob:start", () => probe.roundTrip("claim"));
      events.on("job:complete", ({ error }) => {
        if (error) console.error(`graphile-worker job failed: ${String(error)}`);
        else probe.completed(1);
      });
      const started = await Promise.all(
        Array.from({ length: WORKERS }, () =>
          run({
            connectionString: url,
            noHandleSignals: true,
            // Defaults: the library's own console logger, one line per job.
            ...(tuned ? { logger: errorsOnly } : {}),
            events,
            taskList: { noop: async (payload) => noop(payload) },
            preset: { worker: workerPreset },
          }),
        ),
      );
      runners.push(...started);
      await allListening;
    },
    async remaining() {
      const [row] = await producer!<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
      return row!.n;
    },
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
      await producer?.end({ timeout: 1 });
    },
  };
}
