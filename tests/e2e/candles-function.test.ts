import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addPoolStreams, simPools, storeTruth } from "../../dev/drill/candles-lib.ts";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestFunctions } from "../helpers/functions.ts";
import { trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

const serviceKey = `test-service-${randomBytes(12).toString("hex")}`;
let db: TestDatabase;
let fx: TrackerFixture;
let server: FunctionsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await trackerFixture({ limits: { geckoterminal: 10_000 } });
  server = await startTestFunctions({ dbUrl: db.url, serviceKey, keyPrefix: fx.keyPrefix, sim: fx.sim, env: { GECKOTERMINAL_CALLS_PER_MINUTE: "6000" } });
});
afterAll(async () => {
  await server?.stop();
  await fx?.close();
  await db?.drop();
});

const call = (method: string, body?: unknown, key = serviceKey) =>
  fetch(`${server.url}/candles`, { method, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });

describe("candles served by real Deno at /functions/v1/candles", () => {
  it("collects due streams with the service key and records the run", async () => {
    const tokens = fx.sim.tokens().filter((token) => token.kind === "steady").slice(0, 3);
    const streams = await addPoolStreams(db.sql, simPools(tokens), ["1m", "5m"]);
    const response = await call("POST", { maxSteps: streams.length, timeBudgetMs: 20_000 });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "ok", stats: { claimed: 6, incremental: 6, failed: 0 } });
    expect(body.stats.inserted).toBeGreaterThan(0);
    const [run] = await db.sql<{ outcome: string; counts: Record<string, number> }[]>`select outcome, counts from peakwatch.runs where id = ${body.runId}`;
    expect(run).toMatchObject({ outcome: "ok", counts: { incremental: 6 } });
    expect(await storeTruth(db.sql, streams.map((s) => s.streamId))).toMatchObject({ streams: 6, holes: 0, duplicates: 0 });
  });

  it("answers 202 at once under cron and finishes the run in the background", async () => {
    const response = await call("POST", { async: true, trigger: "cron", timeBudgetMs: 2_000 });
    expect(response.status).toBe(202);
    const { runId } = await response.json();
    let outcome = "running";
    for (let i = 0; i < 100 && outcome === "running"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [row] = await db.sql<{ outcome: string }[]>`select outcome from peakwatch.runs where id = ${runId}`;
      outcome = row!.outcome;
    }
    expect(outcome).toBe("ok");
  });

  it("GET reads the stored bars (the read API) with the service key", async () => {
    const [stream] = await db.sql<{ instrument_id: number; last_closed_bucket: string }[]>`
      select instrument_id, last_closed_bucket from peakwatch.candle_streams where timeframe = '1m' and last_closed_bucket is not null limit 1`;
    const to = new Date(new Date(stream!.last_closed_bucket).getTime() + 60_000);
    const query = new URLSearchParams({ instrument: String(stream!.instrument_id), timeframe: "1m", from: new Date(to.getTime() - 10 * 60_000).toISOString(), to: to.toISOString() });
    const response = await fetch(`${server.url}/candles?${query}`, { headers: { Authorization: `Bearer ${serviceKey}` } });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain(new Date(to.getTime() - 60_000).toISOString());
  });

  it("refuses a missing key and a bad body", async () => {
    expect((await call("POST", {}, "not-the-key")).status).toBe(401);
    expect((await call("POST", { timeBudgetMs: 1 })).status).toBe(400);
  });
});
