import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createSql, type Sql } from "../../../supabase/functions/_shared/db/client.ts";
import { claim } from "../../../supabase/functions/_shared/queue/claim.ts";
import { complete } from "../../../supabase/functions/_shared/queue/complete.ts";
import { BATCH, CONCURRENCY, IDLE_POLL_MS, noop, type Probe, type QueueSystem, WORKERS } from "../harness.ts";

const LEASE_SECONDS = 300;

/**
 * peakwatch's own path: the claim/complete SQL functions through _shared/queue, one pool of
 * CONCURRENCY connections per worker (a tracker isolate), CONCURRENCY loops per pool.
 * Producing is inserting tokens: the statement trigger queues them (priority 0, due now).
 */
export function peakwatchSystem(url: string): QueueSystem {
  let producer: Sql | undefined;
  const pools: Sql[] = [];
  const loops: Promise<void>[] = [];
  let stopping = false;
  let nextAddress = 1;

  const loop = async (sql: Sql, worker: string, probe: Probe): Promise<void> => {
    while (!stopping) {
      const issuedAt = performance.now();
      const batch = await claim(sql, { worker, limit: BATCH, leaseSeconds: LEASE_SECONDS });
      probe.roundTrip("claim", performance.now() - issuedAt);
      if (batch.length === 0) {
        await sleep(IDLE_POLL_MS);
        continue;
      }
      probe.claimed(issuedAt, batch.length);
      for (const item of batch) await noop(item);
      const completing = performance.now();
      const completed = await complete(sql, worker, batch.map((row) => row.token_id));
      probe.roundTrip("complete", performance.now() - completing);
      if (completed !== batch.length) throw new Error(`${worker}: completed ${completed} of ${batch.length} claimed rows`);
      probe.completed(completed);
    }
  };

  return {
    name: "peakwatch",
    settings: { claim: `claim(worker, n=${BATCH}, lease ${LEASE_SECONDS} s)`, complete: "complete(worker, ids[]): one commit per batch", pool: `${CONCURRENCY} connections per worker`, idlePollMs: IDLE_POLL_MS },
    completionsBatchedInternally: false,
    async install() {
      producer = createSql(url, { max: 1, applicationName: "bench-queue-producer" });
      await producer`select 1`;
    },
    async produce(n) {
      const from = nextAddress;
      nextAddress += n;
      await producer!`
        insert into peakwatch.tokens (chain, address)
        select 'solana', 'bench-' || g from generate_series(${from}::int, ${from + n - 1}::int) g`;
    },
    async start(probe) {
      for (let w = 0; w < WORKERS; w++) {
        const sql = createSql(url, { max: CONCURRENCY, applicationName: `bench-queue-worker-${w}` });
        pools.push(sql);
        // Open every connection before anything is measured.
        await Promise.all(Array.from({ length: CONCURRENCY }, () => sql`select pg_sleep(0.02)`));
        for (let c = 0; c < CONCURRENCY; c++) loops.push(loop(sql, `bench-${w}-${c}`, probe));
      }
    },
    async remaining() {
      const [row] = await producer!<{ n: number }[]>`
        select count(*)::int as n from peakwatch.queue where dead_lettered_at is null and due_at <= now()`;
      return row!.n;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await Promise.all([producer, ...pools].map((sql) => sql?.end({ timeout: 1 })));
    },
  };
}
