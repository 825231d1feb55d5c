import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, EPOCH, pollerFixture, type PollerFixture, solanaMint } from "../helpers/poller.ts";
import { startTestFunctions } from "../helpers/functions.ts";

const serviceKey = `test-service-${randomBytes(12).toString("hex")}`;
const feedToken = `feed-${randomBytes(8).toString("hex")}`;
let db: TestDatabase;
let fx: PollerFixture;
let server: FunctionsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await pollerFixture();
  server = await startTestFunctions({
    dbUrl: db.url,
    serviceKey,
    keyPrefix: fx.keyPrefix,
    sim: fx.sim,
    env: { PEAKWATCH_FEED_TOKEN_E2E: feedToken },
  });
});
afterAll(async () => {
  await server?.stop();
  await fx.close();
  await db.drop();
});

const post = (body: unknown) =>
  fetch(`${server.url}/poller`, { method: "POST", headers: { Authorization: `Bearer ${serviceKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("poller served by real Deno at /functions/v1/poller", () => {
  it("stores posted calls once, answers a re-post as duplicates, and refuses bad batches with 400, 404 and 413", async () => {
    const calls = [1, 2, 3].map((n) => ({ source: "manual", external_id: `e2e-${n}`, chain: "solana", address: solanaMint(n), ticker: "E2E", called_at: new Date(Date.now() - 60_000).toISOString() }));
    const first = await post({ calls, trigger: "test" });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ outcome: "ok", totals: { newCalls: 3, newTokens: 3 } });
    expect(await (await post({ calls })).json()).toMatchObject({ totals: { newCalls: 0, duplicates: 3 } });

    const bad = await post({ calls: [{ ...calls[0], called_at: "soon" }] });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.issues).toEqual([expect.objectContaining({ path: "calls.0.called_at" })]);
    expect((await post({ calls: [{ ...calls[0], source: "nobody" }] })).status).toBe(404);
    expect((await post({ calls: Array.from({ length: 1_001 }, () => calls[0]) })).status).toBe(413);

    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.calls`;
    expect(row!.n).toBe(3);
  });

  it("polls a bearer-protected feed with the token from the variable its config names", async () => {
    fx.sim.configureFeed({ token: feedToken });
    const token = fx.sim.tokens().find((t) => t.kind === "steady")!;
    fx.sim.addFeedCalls([0, 1].map((m) => ({ chain: token.chain, token_address: token.address, symbol: token.symbol, called_at: new Date(EPOCH + m * 60_000).toISOString() })));
    await addSource(db.sql, { name: "e2e-feed", kind: "http_feed", config: { url: fx.sim.feedUrl, tokenEnv: "PEAKWATCH_FEED_TOKEN_E2E" } });
    const response = await post({ source: "e2e-feed", trigger: "test" });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "ok", sources: [{ source: "e2e-feed", outcome: "ok", counts: { newCalls: 2, newTokens: 1 } }] });
    const [source] = await db.sql`select cursor, last_error from peakwatch.sources where name = 'e2e-feed'`;
    expect(source).toEqual({ cursor: "2", last_error: null });
    // the token went to the feed, never into the function's output
    expect(server.output()).not.toContain(feedToken);
  });
});
