import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { outgoingKeyHeaders } from "../../supabase/functions/_shared/http/auth.ts";
import { supabaseInvoker } from "../../supabase/functions/_shared/orchestrator/invoke.ts";
import { runOrchestrator } from "../../supabase/functions/_shared/orchestrator/run-orchestrator.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { type Recorder, startRecorder } from "../helpers/recorder.ts";

const KEY = "orchestrator-test-key-0123456789";
let db: TestDatabase;
let functionsHost: Recorder;
beforeAll(async () => {
  db = await createTestDatabase();
  functionsHost = await startRecorder();
});
afterAll(async () => {
  await functionsHost.close();
  await db.drop();
});
beforeEach(async () => {
  functionsHost.requests.length = 0;
  functionsHost.respondWith(200);
  await db.sql`truncate peakwatch.tokens cascade`;
  await db.sql`truncate peakwatch.runs`;
  // every function ran fine a moment ago, so nothing needs healing unless a test says so
  await db.sql`
    insert into peakwatch.runs (function_name, started_at, finished_at, outcome, counts)
    select f, now(), now(), 'ok', '{}' from unnest(array['poller', 'tracker', 'token-refresh', 'candles']) f`;
});

const invoke = () => supabaseInvoker(functionsHost.url, outgoingKeyHeaders((name) => ({ SUPABASE_SERVICE_ROLE_KEY: KEY })[name]));
const called = (name: string) => functionsHost.requests.filter((r) => r.path === `/functions/v1/${name}`);

describe("orchestrator", () => {
  it("fans out extra trackers through functions.invoke when one tracker cannot drain the backlog", async () => {
    await insertTokens(db.sql, 7_000);
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: false, settings: { maxFanOut: 5 } });
    expect(counts).toMatchObject({ dueBacklog: 7_000, plannedTrackers: 2, fannedOut: 2, invokeFailures: 0 });
    const calls = called("tracker");
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.method).toBe("POST");
      expect(call.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(JSON.parse(call.body)).toEqual({ trigger: "orchestrator", async: true });
    }
  });

  it("re-invokes a function whose last success is older than its threshold", async () => {
    await db.sql`update peakwatch.runs set started_at = now() - interval '20 minutes', finished_at = now() - interval '20 minutes' where function_name = 'poller'`;
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: false });
    expect(counts).toMatchObject({ staleFunctions: 1, healed: 1 });
    expect(called("poller")).toHaveLength(1);
    expect(JSON.parse(called("poller")[0]!.body)).toEqual({ trigger: "orchestrator", async: true });
    expect(called("tracker")).toHaveLength(0);
  });

  it("a shutdown (beforeunload) stops it between steps: nothing more is invoked and the run says so", async () => {
    await insertTokens(db.sql, 7_000);
    const controller = new AbortController();
    controller.abort(new Error("runtime shutting down"));
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: false, settings: { maxFanOut: 5 }, signal: controller.signal });
    expect(counts).toMatchObject({ stoppedByShutdown: 1 });
    expect(counts.requeuedDeadLetters).toBeUndefined();
    expect(counts.staleFunctions).toBeUndefined();
  });

  it("a partial run is a success for self-healing as it is for health: nothing is re-invoked", async () => {
    await db.sql`update peakwatch.runs set outcome = 'partial'`;
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: false });
    expect(counts).toMatchObject({ staleFunctions: 0, healed: 0 });
    expect(functionsHost.requests).toHaveLength(0);
  });

  it("counts a refused invocation as a failure instead of hiding it", async () => {
    functionsHost.respondWith(401);
    await db.sql`delete from peakwatch.runs where function_name = 'token-refresh'`;
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: false });
    expect(counts).toMatchObject({ staleFunctions: 1, healed: 0, invokeFailures: 1 });
  });

  it("requeues dead letters after the cool-down and closes runs abandoned by a killed invocation", async () => {
    const [old, recent] = await insertTokens(db.sql, 2);
    await db.sql`update peakwatch.queue set dead_lettered_at = now() - interval '2 hours', attempts = 8 where token_id = ${old!}`;
    await db.sql`update peakwatch.queue set dead_lettered_at = now() - interval '5 minutes', attempts = 8 where token_id = ${recent!}`;
    await db.sql`insert into peakwatch.runs (function_name, started_at) values ('tracker', now() - interval '1 hour'), ('tracker', now())`;
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: true });
    expect(counts).toMatchObject({ requeuedDeadLetters: 1, abandonedRuns: 1 });
    const runs = await db.sql`select outcome, error from peakwatch.runs where function_name = 'tracker' and counts = '{}' and finished_at is distinct from started_at order by started_at`;
    expect(runs[0]).toMatchObject({ outcome: "error", error: expect.stringMatching(/abandoned/) });
    expect(runs[1]).toMatchObject({ outcome: "running" });
  });

  it("a dry run plans and reports but invokes nothing", async () => {
    await insertTokens(db.sql, 7_000);
    await db.sql`truncate peakwatch.runs`;
    const counts = await runOrchestrator(db.sql, invoke(), { dryRun: true });
    expect(counts).toMatchObject({ plannedTrackers: 2, fannedOut: 0, staleFunctions: 4, healed: 0 });
    expect(functionsHost.requests).toHaveLength(0);
  });
});
