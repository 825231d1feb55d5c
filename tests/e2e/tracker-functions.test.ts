import { randomBytes } from "node:crypto";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestFunctions } from "../helpers/functions.ts";
import { freePort } from "../../dev/lib/ports.ts";
import { insertSimTokens, trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

// Node 20 has no WebSocket of its own; supabase-js wants one for realtime even when only functions are used.
const clientOptions = { auth: { persistSession: false }, realtime: { transport: WebSocket as never } };
const serviceKey = `test-service-${randomBytes(12).toString("hex")}`;
let db: TestDatabase;
let fx: TrackerFixture;
let server: FunctionsServer;
let port: number;

const startServer = () =>
  startTestFunctions({ dbUrl: db.url, serviceKey, keyPrefix: fx.keyPrefix, sim: fx.sim, env: { TRACKER_LEASE_SECONDS: "10" }, port });

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await trackerFixture();
  port = await freePort();
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
  await fx.close();
  await db.drop();
});

const trading = () => fx.sim.tokens().filter((t) => t.kind === "steady" || t.kind === "pump");
const post = (body: unknown, key = serviceKey) =>
  fetch(`${server.url}/tracker`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
const simFault = (provider: string, kind: string) =>
  fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ provider, kind }) });

describe("tracker served by real Deno at /functions/v1/tracker", () => {
  it("prices queued tokens when called with the service key, as a curl line would", async () => {
    const tokens = trading().slice(0, 6);
    await insertSimTokens(db.sql, tokens);
    const response = await post({ maxTokens: 6, timeBudgetMs: 10_000 });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "ok", stats: { claimed: 6, priced: 6 } });
  });

  it("supabase-js functions.invoke works with the service key and is refused without it", async () => {
    const tokens = trading().slice(6, 8);
    await insertSimTokens(db.sql, tokens);
    const admin = createClient(`http://127.0.0.1:${port}`, serviceKey, clientOptions);
    const { data, error } = await admin.functions.invoke("tracker", { body: { maxTokens: 2, timeBudgetMs: 5_000 } });
    expect(error).toBeNull();
    expect(data).toMatchObject({ stats: { claimed: 2, priced: 2 } });

    const anon = createClient(`http://127.0.0.1:${port}`, "anon-key-that-is-not-the-service-key", clientOptions);
    const refused = await anon.functions.invoke("tracker", { body: {} });
    expect(refused.error).toBeInstanceOf(FunctionsHttpError);
    expect((refused.error as FunctionsHttpError).context.status).toBe(401);
  });

  it("a tracker process killed mid-batch loses nothing: its rows are claimed again after the lease", async () => {
    await db.sql`truncate peakwatch.tokens cascade`;
    const tokens = trading().slice(0, 12);
    await insertSimTokens(db.sql, tokens);
    await simFault("dexscreener", "timeout");
    await simFault("geckoterminal", "timeout");
    const hanging = post({ timeBudgetMs: 30_000 }).catch(() => null);
    // the tracker claims a batch (one chain's tokens) and hangs on the silent upstream
    for (let i = 0; i < 100; i++) {
      const [row] = await db.sql<{ held: number }[]>`select count(claimed_by)::int as held from peakwatch.queue`;
      if (row!.held > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server.kill("SIGKILL");
    await hanging;
    const [held] = await db.sql<{ held: number; priced: number }[]>`
      select count(q.claimed_by)::int as held, count(t.last_priced_at)::int as priced
      from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id`;
    expect(held!.held).toBeGreaterThan(0);
    expect(held!.priced).toBe(0);

    await simFault("dexscreener", "none");
    await simFault("geckoterminal", "none");
    server = await startServer();
    const response = await post({ maxTokens: 12, timeBudgetMs: 25_000 });
    expect((await response.json()).stats).toMatchObject({ claimed: 12, priced: 12 });
    const [after] = await db.sql<{ priced: number; attempts: number }[]>`
      select count(t.last_priced_at)::int as priced, coalesce(sum(q.attempts), 0)::int as attempts
      from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id`;
    expect(after).toEqual({ priced: 12, attempts: 0 });
  });
});
