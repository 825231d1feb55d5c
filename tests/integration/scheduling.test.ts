import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type PgNetWorker, startPgNetWorker } from "../../dev/lib/pgnet-worker.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type Recorder, startRecorder } from "../helpers/recorder.ts";

const KEY = "scheduling-test-key-0123456789";
let db: TestDatabase;
let host: Recorder;
let worker: PgNetWorker;
beforeAll(async () => {
  db = await createTestDatabase();
  host = await startRecorder();
  worker = await startPgNetWorker(db.url, { pollMs: 200 });
});
afterAll(async () => {
  await worker.stop();
  await host.close();
  await db.drop();
});
beforeEach(async () => {
  host.requests.length = 0;
  host.respondWith(200);
  await db.sql`delete from peakwatch.settings`;
  await db.sql`
    insert into peakwatch.settings (key, value)
    values ('peakwatch_functions_url', ${host.url}), ('peakwatch_service_key', ${KEY})`;
});

async function waitForResponses(count: number) {
  for (let i = 0; i < 100; i++) {
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from net._http_response`;
    if (row!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pg_net stand-in did not answer ${count} request(s)`);
}

describe("invoke_function through net.http_post", () => {
  it("posts the body to <url>/functions/v1/<name> with the service key after commit, and records the outcome", async () => {
    await db.sql`truncate net._http_response`;
    const [row] = await db.sql<{ id: number }[]>`select peakwatch.invoke_function('tracker', '{"trigger": "cron", "async": true}') as id`;
    await waitForResponses(1);
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0]).toMatchObject({ method: "POST", path: "/functions/v1/tracker" });
    expect(host.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.parse(host.requests[0]!.body)).toEqual({ trigger: "cron", async: true });

    const [collect] = await db.sql<{ collected: number }[]>`select peakwatch.collect_invocation_results() as collected`;
    expect(collect!.collected).toBe(1);
    const [invocation] = await db.sql`select function_name, outcome, status_code, error from peakwatch.invocations where request_id = ${row!.id}`;
    expect(invocation).toEqual({ function_name: "tracker", outcome: "ok", status_code: 200, error: null });
  });

  it("a new-style secret key (sb_secret_…) goes in the apikey header, never as a Bearer token", async () => {
    const secret = "sb_secret_scheduling_0123456789abcdef";
    await db.sql`update peakwatch.settings set value = ${secret} where key = 'peakwatch_service_key'`;
    await db.sql`truncate net._http_response`;
    await db.sql`select peakwatch.invoke_function('tracker')`;
    await waitForResponses(1);
    expect(host.requests[0]!.headers.apikey).toBe(secret);
    expect(host.requests[0]!.headers.authorization).toBeUndefined();
  });

  it("a 401 from the function, invisible to pg_cron, becomes a durable counted failure", async () => {
    await db.sql`truncate net._http_response`;
    host.respondWith(401);
    const [row] = await db.sql<{ id: number }[]>`select peakwatch.invoke_function('poller') as id`;
    await waitForResponses(1);
    await db.sql`select peakwatch.collect_invocation_results()`;
    const [invocation] = await db.sql`select outcome, status_code, error from peakwatch.invocations where request_id = ${row!.id}`;
    expect(invocation).toEqual({ outcome: "failed", status_code: 401, error: "HTTP 401" });
  });

  it("an unreachable functions host is recorded as failed with the connection error", async () => {
    await db.sql`truncate net._http_response`;
    await db.sql`update peakwatch.settings set value = 'http://127.0.0.1:9' where key = 'peakwatch_functions_url'`;
    const [row] = await db.sql<{ id: number }[]>`select peakwatch.invoke_function('health') as id`;
    await waitForResponses(1);
    await db.sql`select peakwatch.collect_invocation_results()`;
    const [invocation] = await db.sql<{ outcome: string; error: string }[]>`select outcome, error from peakwatch.invocations where request_id = ${row!.id}`;
    expect(invocation!.outcome).toBe("failed");
    expect(invocation!.error.length).toBeGreaterThan(0);
  });

  it("without the URL and key configured it raises a clear error instead of queueing nothing", async () => {
    await db.sql`delete from peakwatch.settings`;
    await expect(db.sql`select peakwatch.invoke_function('tracker')`).rejects.toThrow(/peakwatch_functions_url and peakwatch_service_key are not set/);
    await expect(db.sql`select peakwatch.invoke_function('Bad Name')`).rejects.toThrow(/bad function name/);
  });
});

describe("housekeeping", () => {
  it("prunes finished runs and invocations past retention, keeps running and recent ones", async () => {
    await db.sql`truncate peakwatch.runs`;
    await db.sql`
      insert into peakwatch.runs (function_name, started_at, finished_at, outcome) values
        ('tracker', now() - interval '30 days', now() - interval '30 days', 'ok'),
        ('tracker', now() - interval '1 day', now() - interval '1 day', 'ok')`;
    await db.sql`insert into peakwatch.runs (function_name, started_at) values ('tracker', now() - interval '30 days')`;
    await db.sql`insert into peakwatch.invocations (request_id, function_name, requested_at) values (-1, 'tracker', now() - interval '30 days')`;
    const [pruned] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result`;
    expect(pruned!.result).toMatchObject({ runs: 1, invocations: 1 });
    const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.runs`;
    expect(left!.n).toBe(2);
  });

  it("prunes alert messages sent or given up on more than a week ago, keeps open and recent ones", async () => {
    await db.sql`
      insert into peakwatch.alert_outbox (kind, notification, status, created_at) values
        ('health', '{}', 'sent', now() - interval '8 days'),
        ('health', '{}', 'failed', now() - interval '8 days'),
        ('health', '{}', 'pending', now() - interval '8 days'),
        ('health', '{}', 'sent', now() - interval '1 day')`;
    const [pruned] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result`;
    expect(pruned!.result).toMatchObject({ alert_outbox: 2 });
    const left = await db.sql<{ status: string }[]>`select status from peakwatch.alert_outbox order by id`;
    expect(left.map((r) => r.status)).toEqual(["pending", "sent"]);
  });
});
