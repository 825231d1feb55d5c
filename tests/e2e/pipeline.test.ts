import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import { type PgNetWorker, startPgNetWorker } from "../../dev/lib/pgnet-worker.ts";
import { adminClient } from "../../dev/lib/postgres.ts";
import { readStackSettings } from "../../dev/lib/settings.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, pollerFixture, type PollerFixture } from "../helpers/poller.ts";
import { startTestFunctions } from "../helpers/functions.ts";

const serviceKey = `test-service-${randomBytes(12).toString("hex")}`;
let db: TestDatabase;
let fx: PollerFixture;
let server: FunctionsServer & { port: number };
let worker: PgNetWorker;
let jobs: Array<{ jobname: string; command: string }>;

beforeAll(async () => {
  // The commands pg_cron runs, read from the cron database where the migrations scheduled them.
  const cron = adminClient(readStackSettings().dbUrl);
  jobs = await cron<{ jobname: string; command: string }[]>`select jobname, command from cron.job where jobname like 'peakwatch-%' order by jobname`;
  await cron.end();
  db = await createTestDatabase();
  // The simulator on the wall clock: candles are graded against real time, so their bars must be now's.
  fx = await pollerFixture({ now: Date.now });
  server = await startTestFunctions({ dbUrl: db.url, serviceKey, keyPrefix: fx.keyPrefix, sim: fx.sim });
  worker = await startPgNetWorker(db.url, { pollMs: 200 });
  await db.sql`
    insert into peakwatch.settings (key, value)
    values ('peakwatch_functions_url', ${`http://127.0.0.1:${server.port}`}), ('peakwatch_service_key', ${serviceKey})`;
});
afterAll(async () => {
  await worker?.stop();
  await server?.stop();
  await fx.close();
  await db.drop();
});

const command = (name: string) => {
  const job = jobs.find((j) => j.jobname === name);
  if (!job) throw new Error(`no cron job ${name}`);
  return job.command;
};

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const lastRun = (fn: string) => async () =>
  (await db.sql<{ outcome: string; trigger: string; counts: Record<string, number> }[]>`
    select outcome, trigger, counts from peakwatch.runs where function_name = ${fn} order by started_at desc limit 1`)[0];

describe("the pipeline, driven by the cron jobs' own commands", () => {
  it("poller ingests calls, tracker prices their tokens, orchestrator and token-refresh run, every request answered 2xx, health is not failing", async () => {
    expect(jobs.map((j) => j.jobname)).toEqual(expect.arrayContaining([
      "peakwatch-poller", "peakwatch-tracker", "peakwatch-orchestrator", "peakwatch-token-refresh", "peakwatch-collect-invocations", "peakwatch-candles",
    ]));
    const trading = fx.sim.tokens().filter((t) => t.kind === "steady").slice(0, 5);
    fx.sim.addFeedCalls(trading.map((t, i) => ({ chain: t.chain, token_address: t.address, symbol: t.symbol, called_at: new Date(Date.now() - (i + 1) * 60_000).toISOString() })));
    await addSource(db.sql, { name: "calls-feed", kind: "http_feed", config: { url: fx.sim.feedUrl } });

    await db.sql.unsafe(command("peakwatch-poller"));
    const poll = await until(lastRun("poller"), (r) => r !== undefined && r.outcome !== "running", "the cron poller run");
    expect(poll).toMatchObject({ outcome: "ok", trigger: "cron" });
    const [calls] = await db.sql<{ calls: number; tokens: number }[]>`
      select (select count(*) from peakwatch.calls)::int as calls, (select count(*) from peakwatch.tokens)::int as tokens`;
    expect(calls).toEqual({ calls: 5, tokens: 5 });

    await db.sql.unsafe(command("peakwatch-tracker"));
    await until(
      async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.tokens where status = 'active'`)[0]!.n,
      (n) => n === 5,
      "all five tokens priced",
    );
    const [performance] = await db.sql<{ priced: number }[]>`
      select count(*)::int as priced from peakwatch.call_performance where price_usd > 0 and entry_price_usd > 0 and ath_price_usd > 0`;
    expect(performance!.priced).toBe(5);

    await db.sql.unsafe(command("peakwatch-token-refresh"));
    await until(lastRun("token-refresh"), (r) => r !== undefined && r.outcome !== "running", "the cron token-refresh run");
    await db.sql.unsafe(command("peakwatch-orchestrator"));
    await until(lastRun("orchestrator"), (r) => r !== undefined && r.outcome !== "running", "the cron orchestrator run");
    await db.sql.unsafe(command("peakwatch-candles"));

    const invocations = await until(
      async () => {
        await db.sql.unsafe(command("peakwatch-collect-invocations"));
        return await db.sql<{ function_name: string; outcome: string }[]>`select function_name, outcome from peakwatch.invocations`;
      },
      (rows) => rows.length === 5 && rows.every((r) => r.outcome !== "pending"),
      "every cron request answered",
    );
    expect(invocations.map((r) => `${r.function_name}:${r.outcome}`).sort()).toEqual([
      "candles:ok", "orchestrator:ok", "poller:ok", "token-refresh:ok", "tracker:ok",
    ]);

    // the cron tracker keeps claiming for its whole time budget (it answered 202 at once); health
    // wants a tracker success, so wait for that run to finish
    await until(
      async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.runs where function_name = 'tracker' and outcome = 'ok'`)[0]!.n,
      (n) => n > 0,
      "a finished tracker run",
      90_000,
    );
    // so does the candles run (health watches every function the cron jobs call)
    await until(lastRun("candles"), (r) => r !== undefined && r.outcome === "ok", "a finished candles run", 90_000);
    const health = await fetch(`${server.url}/health`);
    const body = await health.json();
    expect(health.status, JSON.stringify(body)).toBe(200);
    expect(body.status).not.toBe("fail");
  }, 180_000);
});
