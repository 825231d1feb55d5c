import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import PgBoss from "pg-boss";
import { BATCH, CONCURRENCY, IDLE_POLL_MS, noop, type Probe, type QueueSystem, WORKERS } from "../harness.ts";

const QUEUE = "bench";
const SCHEMA = "pgboss";

/** pg-boss's Db as the manager calls it; wrapped to see each fetch and completion round trip. */
interface Executor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Defaults: work() runs its own loop (batchSize 1, a fetch every pollingIntervalSeconds = 2 s) and
 * completes each batch without awaiting; the instance's Db is wrapped so the bench sees when each
 * fetch was issued and when each completion committed.
 */
function observe(boss: PgBoss, probe: Probe): void {
  const db = boss.getDb() as unknown as Executor;
  const execute = db.executeSql.bind(db);
  db.executeSql = async (text, values) => {
    const issuedAt = performance.now();
    const result = await execute(text, values);
    // pg-boss answers undefined once the instance is stopping.
    if (!result) return result;
    const ms = performance.now() - issuedAt;
    if (text.includes("FOR UPDATE SKIP LOCKED")) {
      probe.roundTrip("claim", ms);
      probe.claimed(issuedAt, result.rows.length);
    } else if (text.includes("SELECT COUNT(*) FROM results") && text.includes("state = 'completed'")) {
      probe.roundTrip("complete", ms);
      probe.completed(Number((result.rows[0] as { count: string }).count));
    }
    return result;
  };
}

/** Tuned: fetch(batchSize BATCH, priority off) -> complete(ids[]) in a loop of our own, CONCURRENCY loops per instance. */
async function fetchLoop(boss: PgBoss, probe: Probe, stopping: () => boolean): Promise<void> {
  while (!stopping()) {
    const issuedAt = performance.now();
    const jobs = await boss.fetch(QUEUE, { batchSize: BATCH, priority: false });
    probe.roundTrip("claim", performance.now() - issuedAt);
    if (jobs.length === 0) {
      await sleep(IDLE_POLL_MS);
      continue;
    }
    probe.claimed(issuedAt, jobs.length);
    for (const job of jobs) await noop(job);
    const completing = performance.now();
    await boss.complete(QUEUE, jobs.map((job) => job.id));
    probe.roundTrip("complete", performance.now() - completing);
    probe.completed(jobs.length);
  }
}

/** pg-boss 10 (the newest major on Node 20; 11 needs Node 22): WORKERS instances, each its own pool (default max 10). */
export function pgbossSystem(url: string, tuned: boolean): QueueSystem {
  // Tuned instances run no maintenance or cron timekeeping; defaults keep both.
  const options = tuned ? { connectionString: url, schema: SCHEMA, supervise: false, schedule: false } : { connectionString: url, schema: SCHEMA };
  let producer: PgBoss | undefined;
  const consumers: PgBoss[] = [];
  const loops: Promise<void>[] = [];
  let stopping = false;
  const onError = (error: Error) => console.error(`pg-boss: ${error.message}`);

  return {
    name: tuned ? "pg-boss tuned" : "pg-boss defaults",
    settings: tuned
      ? { instances: WORKERS, "loops per instance": CONCURRENCY, fetch: `fetch(batchSize ${BATCH}, priority false)`, complete: "complete(name, ids[]): one commit per batch", supervise: false, schedule: false, idlePollMs: IDLE_POLL_MS }
      : { instances: WORKERS, "work() per instance": CONCURRENCY, "work options": "defaults (batchSize 1, pollingIntervalSeconds 2)", supervise: true, schedule: true },
    completionsBatchedInternally: false,
    async install() {
      producer = new PgBoss({ connectionString: url, schema: SCHEMA, max: 1, supervise: false, schedule: false });
      producer.on("error", onError);
      await producer.start();
      await producer.createQueue(QUEUE);
    },
    async produce(n) {
      await producer!.insert(Array.from({ length: n }, () => ({ name: QUEUE, data: {} })));
    },
    async start(probe) {
      for (let w = 0; w < WORKERS; w++) {
        const boss = new PgBoss(options);
        boss.on("error", onError);
        await boss.start();
        consumers.push(boss);
        // Open the pool's connections before anything is measured, as the other systems do.
        const db = boss.getDb() as unknown as Executor;
        await Promise.all(Array.from({ length: CONCURRENCY }, () => db.executeSql("select pg_sleep(0.02)")));
        if (tuned) {
          for (let c = 0; c < CONCURRENCY; c++) loops.push(fetchLoop(boss, probe, () => stopping));
        } else {
          observe(boss, probe);
          for (let c = 0; c < CONCURRENCY; c++) {
            await boss.work(QUEUE, async (jobs) => {
              for (const job of jobs) await noop(job);
            });
          }
        }
      }
    },
    async remaining() {
      return await producer!.getQueueSize(QUEUE, { before: "completed" });
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await Promise.all(consumers.map((boss) => boss.stop({ graceful: false, wait: true, close: true })));
      await producer?.stop({ graceful: false, wait: true, close: true });
    },
  };
}
