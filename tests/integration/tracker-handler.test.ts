import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTrackerHandler, type TrackerDeps } from "../../supabase/functions/_shared/tracker/handler.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

const KEY = "test-service-key-0123456789abcdef";
let db: TestDatabase;
let fx: TrackerFixture;
let keys: string[] = [KEY];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await trackerFixture();
});
afterAll(async () => {
  await fx.close();
  await db.drop();
});
beforeEach(async () => {
  keys = [KEY];
  await db.sql`truncate peakwatch.tokens cascade`;
  await db.sql`truncate peakwatch.runs`;
});

const handler = createTrackerHandler((): TrackerDeps => ({ sql: db.sql, keys, lanes: () => fx.lanes(), settings: { idlePollMs: 50, reserveMs: 500 } }));

const post = (body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${KEY}` }) =>
  handler(new Request("http://localhost/tracker", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }));

async function nothingHappened() {
  const [row] = await db.sql<{ claimed: number; runs: number }[]>`
    select (select count(claimed_by) from peakwatch.queue)::int as claimed, (select count(*) from peakwatch.runs)::int as runs`;
  expect(row).toEqual({ claimed: 0, runs: 0 });
}

describe("tracker endpoint", () => {
  it("answers JSON stats, records the run, and prices what it claimed", async () => {
    const token = fx.sim.tokens().find((t) => t.kind === "steady")!;
    await db.sql`insert into peakwatch.tokens (chain, address) values (${token.chain}, ${token.address})`;
    const response = await post({ maxTokens: 1, timeBudgetMs: 5_000, trigger: "test" });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "ok", stats: { claimed: 1, priced: 1, failed: 0, rateLimited: 0 } });
    const [run] = await db.sql`select function_name, trigger, outcome, counts from peakwatch.runs where id = ${body.runId}`;
    expect(run).toMatchObject({ function_name: "tracker", trigger: "test", outcome: "ok", counts: { claimed: 1, priced: 1 } });
  });

  it("with async it answers 202 at once and finishes the run in the background", async () => {
    const response = await post({ async: true, timeBudgetMs: 1_000 });
    expect(response.status).toBe(202);
    const { runId } = await response.json();
    for (let i = 0; i < 50; i++) {
      const [run] = await db.sql<{ outcome: string }[]>`select outcome from peakwatch.runs where id = ${runId}`;
      if (run!.outcome !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [run] = await db.sql`select outcome from peakwatch.runs where id = ${runId}`;
    expect(run!.outcome).toBe("ok");
  });

  it.each([
    [{ maxTokens: 0 }, "maxTokens"],
    [{ maxTokens: 10_001 }, "maxTokens"],
    [{ timeBudgetMs: 999 }, "timeBudgetMs"],
    [{ timeBudgetMs: 200_000 }, "timeBudgetMs"],
    [{ chains: ["Not A Chain"] }, "chains.0"],
    [{ surprise: true }, "(body)"],
  ])("a malformed body %j gets 400 naming %s, and nothing is claimed", async (body, path) => {
    await insertTokens(db.sql, 3);
    const response = await post(body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe("bad_request");
    expect(error.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    await nothingHappened();
  });

  it("a body that is not JSON gets 400", async () => {
    const response = await post("{not json");
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/not valid JSON/);
    await nothingHappened();
  });

  it.each([
    ["no key", {}],
    ["a wrong key", { Authorization: "Bearer wrong-key-wrong-key-wrong" }],
    ["the anon-style apikey header with a wrong key", { apikey: "anon-key-anon-key-anon-key" }],
  ])("%s gets 401 and nothing is claimed", async (_, headers) => {
    await insertTokens(db.sql, 3);
    const response = await post({}, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
    await nothingHappened();
  });

  it("a wrong method gets 405 with Allow", async () => {
    const response = await handler(new Request("http://localhost/tracker", { method: "GET", headers: { Authorization: `Bearer ${KEY}` } }));
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    await nothingHappened();
  });

  it("fails closed when the server has no key configured", async () => {
    keys = [];
    await insertTokens(db.sql, 1);
    const response = await post({}, { Authorization: "Bearer anything-anything-anything" });
    expect(response.status).toBe(503);
    expect((await response.json()).error.code).toBe("not_configured");
    await nothingHappened();
  });
});
