import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addPoolStreams, makeDue, simPools, storeTruth } from "../../dev/drill/candles-lib.ts";
import { type MarketSimulator, startMarketSimulator } from "../../dev/market-sim/server.ts";
import { type CollectStats, runCandles } from "../../supabase/functions/_shared/candles/collect.ts";
import { defaultCalendarFor, geckoLanes } from "../../supabase/functions/_shared/candles/deps.ts";
import { createGeckoCandleProvider } from "../../supabase/functions/_shared/candles/geckoterminal.ts";
import { createRedis, type Redis } from "../../supabase/functions/_shared/limits/redis.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { redisUrl } from "../helpers/tracker.ts";

const MINUTE = 60_000;
let db: TestDatabase;
let sim: MarketSimulator;
let redis: Redis;
let offset = 0;
const clock = () => Date.now() + offset;
const keyPrefix = `test:${crypto.randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startMarketSimulator({ seed: 11, now: clock, limits: { geckoterminal: 100_000 } });
  redis = createRedis(redisUrl());
});
afterAll(async () => {
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await sim.close();
  await db.drop();
});
beforeEach(async () => {
  await fault("none");
});

const fault = (kind: string, rate = 1) =>
  fetch(`${sim.url}/__sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ provider: "geckoterminal", kind, rate }) });
const lanes = () => geckoLanes(redis, { baseUrl: sim.geckoterminalUrl, keyPrefix, perMinute: 100_000 });
const collect = async (streamIds: number[], settings = {}, providers = { geckoterminal: lanes() }): Promise<CollectStats> => {
  await makeDue(db.sql, streamIds);
  return runCandles({ sql: db.sql, owner: "test", providers, calendarFor: defaultCalendarFor, timeBudgetMs: 20_000, maxSteps: streamIds.length, signal: new AbortController().signal, now: clock, settings: { initialBars: 30, ...settings } });
};
const steadies = () => sim.tokens().filter((token) => token.kind === "steady" || token.kind === "pump");
const stream = async (id: number) => (await db.sql<Record<string, unknown>[]>`select * from peakwatch.candle_streams where id = ${id}`)[0]!;

describe("candles collector (real Postgres, simulated GeckoTerminal)", () => {
  it("a new stream gets its newest bars; fetching the same window again changes 0 rows", async () => {
    const [s] = await addPoolStreams(db.sql, simPools(steadies().slice(0, 1)), ["1m"]);
    const first = await collect([s!.streamId]);
    expect(first).toMatchObject({ calls: 1, incremental: 1, failed: 0 });
    expect(first.inserted).toBeGreaterThanOrEqual(30);
    const row = await stream(s!.streamId);
    expect(new Date(row.last_closed_bucket as string).getTime()).toBe(Math.floor(clock() / MINUTE) * MINUTE - MINUTE);

    // Same window again (cursor put back): identical rows are not rewritten.
    await db.sql`update peakwatch.candle_streams set last_closed_bucket = last_closed_bucket - interval '1 minute' where id = ${s!.streamId}`;
    const again = await collect([s!.streamId]);
    expect(again.inserted ?? 0).toBe(0);
    expect(again.revised ?? 0).toBe(0);
    expect(again.unchanged).toBeGreaterThan(0);
    expect(await storeTruth(db.sql, [s!.streamId])).toMatchObject({ holes: 0, duplicates: 0 });
  });

  it("an outage is repaired on the next run: every closed bar since the cursor, 0 holes", async () => {
    const streams = await addPoolStreams(db.sql, simPools(steadies().slice(1, 2)), ["1m", "5m"]);
    const ids = streams.map((s) => s.streamId);
    await collect(ids);
    offset += 45 * MINUTE; // the collector was down for 45 minutes
    const stats = await collect(ids);
    expect(stats.inserted).toBeGreaterThanOrEqual(45 + 9);
    expect(await storeTruth(db.sql, ids)).toMatchObject({ holes: 0, duplicates: 0, openGaps: 0 });
  });

  it("bars left out of an answer are recorded as a gap, repaired by a later run and counted", async () => {
    const [s] = await addPoolStreams(db.sql, simPools(steadies().slice(2, 3)), ["1m"]);
    const ids = [s!.streamId];
    await collect(ids);
    await fault("gaps");
    offset += 60 * MINUTE;
    const holed = await collect(ids);
    expect(holed.gapsFound).toBeGreaterThan(0);
    expect((await storeTruth(db.sql, ids)).holes).toBeGreaterThan(0);
    await fault("none");
    for (let i = 0; i < 30 && (await storeTruth(db.sql, ids)).openGaps > 0; i++) await collect(ids);
    const truth = await storeTruth(db.sql, ids);
    expect(truth).toMatchObject({ holes: 0, openGaps: 0 });
    expect(truth.gapsRepaired).toBe(truth.gapsFound);
  });

  it("backfill pages back to its depth, resumable from its cursor; a young pool says so", async () => {
    const pools = simPools(steadies().slice(3, 5));
    const target = new Date(Math.floor((clock() - 3 * 86_400_000) / 900_000) * 900_000);
    const streams = await addPoolStreams(db.sql, pools, ["15m"], { backfillTarget: target });
    const ids = streams.map((s) => s.streamId);
    for (let i = 0; i < 10; i++) await collect(ids, { pageBars: 100 });
    const rows = await db.sql<{ backfill_done_at: string | null; backfill_cursor: string; coverage_reason: string | null }[]>`
      select backfill_done_at, backfill_cursor, coverage_reason from peakwatch.candle_streams where id = any(${ids}::bigint[])`;
    for (const row of rows) {
      expect(row.backfill_done_at).not.toBeNull();
      if (row.coverage_reason === null) expect(new Date(row.backfill_cursor).getTime()).toBe(target.getTime());
      else expect(row.coverage_reason).toBe("younger_than_depth");
    }
    expect(await storeTruth(db.sql, ids)).toMatchObject({ holes: 0, duplicates: 0 });
  });

  it("a closed bar the provider changes counts as a revision", async () => {
    // Closed-ness of a stored bar is judged on the database's clock: this test keeps the simulator on it.
    offset = 0;
    const [s] = await addPoolStreams(db.sql, simPools(steadies().slice(5, 6)), ["1m"]);
    const ids = [s!.streamId];
    await collect(ids, { initialBars: 60 });
    await fault("revised_bar");
    await db.sql`update peakwatch.candle_streams set last_closed_bucket = last_closed_bucket - interval '30 minutes' where id = ${s!.streamId}`;
    const stats = await collect(ids);
    expect(stats.revised).toBeGreaterThan(0);
    expect(Number((await stream(s!.streamId)).revisions)).toBe(stats.revised);
  });

  it("an unknown pool is not_on_provider; drift is a counted failure; our own budget out hands the stream back", async () => {
    const [unknown] = await addPoolStreams(db.sql, [{ network: "solana", pool: "NoSuchPool1111111111111111111111111111111111" }], ["5m"]);
    expect(await collect([unknown!.streamId])).toMatchObject({ failed: 1, "failed.not_found": 1 });
    expect(await stream(unknown!.streamId)).toMatchObject({ coverage_reason: "not_on_provider", attempts: 1 });

    const [s] = await addPoolStreams(db.sql, simPools(steadies().slice(6, 7)), ["5m"]);
    await fault("renamed_field");
    expect(await collect([s!.streamId])).toMatchObject({ failed: 1, "failed.schema_drift": 1 });
    expect((await stream(s!.streamId)).last_error).toMatch(/schema_drift: .*ohlcv_list/);

    await fault("none");
    const shut = createGeckoCandleProvider({ baseUrl: sim.geckoterminalUrl, gate: { acquire: async () => false } });
    const stats = await collect([s!.streamId], {}, { geckoterminal: { incremental: shut, backfill: shut } });
    expect(stats).toMatchObject({ budgetWaits: 1, failed: 0, calls: 0 });
    expect(await stream(s!.streamId)).toMatchObject({ attempts: 1, lease_owner: null });
  });
});
