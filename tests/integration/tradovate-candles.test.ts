import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TradovateMdStandIn } from "../../dev/tradovate-md/server.ts";
import { createCandlesHandler } from "../../supabase/functions/_shared/candles/handler.ts";
import { timeframeSchema } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { futuresCandles } from "../../supabase/functions/_shared/providers/tradovate-md/candles-wiring.ts";
import { credentialsFixture, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { cme, localEgress, mdStandIn, wsSocket } from "../helpers/tradovate-md.ts";

let db: TestDatabase;
let fx: CredentialsFixture;
let md: TradovateMdStandIn;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await credentialsFixture(db.sql);
  md = await mdStandIn(fx, { historyDays: 6 });
});
afterAll(async () => {
  await md.close();
  await fx.close();
  await db.drop();
});

describe("the candles function with Tradovate", () => {
  it("claims the futures streams, stores their bars through one session per run and shows the contract being read", async () => {
    await db.sql`update peakwatch.instruments set enabled = (symbol = 'NQ') where provider = 'tradovate'`;
    const futures = futuresCandles(
      db.sql,
      fx.redis,
      { TRADOVATE_CREDENTIAL: "tv", TRADOVATE_MD_URL: md.url, TRADOVATE_SOCKET_WAIT_MS: 5_000, TRADOVATE_SESSION_RETRIES: 2, TRADOVATE_EOH_TIMEOUT_MS: 10_000, PEAKWATCH_REDIS_PREFIX: fx.keyPrefix },
      { store: fx.store({ egress: localEgress() }), provider: { openSocket: wsSocket, egress: localEgress(), sessionIdleMs: 2_000 } },
    );
    const handler = createCandlesHandler(() => ({
      sql: db.sql,
      keys: ["test-key"],
      providers: () => ({ tradovate: futures.lanes()! }),
      calendarFor: futures.calendarFor,
      prepare: futures.prepare,
    }));
    const response = await handler(new Request("http://test/functions/v1/candles", {
      method: "POST",
      headers: { apikey: "test-key", "content-type": "application/json" },
      body: JSON.stringify({ maxSteps: 4, timeBudgetMs: 30_000, trigger: "test" }),
    }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { outcome: string; stats: Record<string, number> };
    expect(body.outcome).toBe("ok");
    expect(body.stats).toMatchObject({ steps: 4, incremental: 4 });
    await futures.provider()!.close();

    const streams = await db.sql<{ timeframe: string; last: string; bars: number }[]>`
      select s.timeframe, s.last_closed_bucket as last, (select count(*)::int from peakwatch.candles c where c.instrument_id = s.instrument_id and c.timeframe = s.timeframe) as bars
      from peakwatch.candle_streams s join peakwatch.instruments i on i.id = s.instrument_id where i.provider = 'tradovate' and i.symbol = 'NQ'`;
    expect(streams).toHaveLength(4);
    for (const stream of streams) {
      expect(stream.bars).toBeGreaterThan(0);
      // The cursor is the newest bucket the session calendar has closed (or, right at a boundary, the one before).
      const newest = cme.lastClosedBucket(timeframeSchema.parse(stream.timeframe), new Date())!.getTime();
      expect(newest - Date.parse(stream.last)).toBeLessThanOrEqual(60_000 * 60);
    }
    // One session served the run's four streams; the instrument names the month it reads.
    expect(futures.provider()!.stats()).toMatchObject({ sessions: 1, charts: 4 });
    const [nq] = await db.sql<{ contract: string }[]>`select contract from peakwatch.instruments where provider = 'tradovate' and symbol = 'NQ'`;
    expect(nq!.contract).toMatch(/^NQ[HMUZ]\d$/);
  });
});
