import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { runTracker } from "../../supabase/functions/_shared/tracker/run-tracker.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { insertSimTokens, trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

let db: TestDatabase;
let fx: TrackerFixture;
beforeAll(async () => {
  db = await createTestDatabase();
  // A tighter window than the real 300/min keeps the test short; the property is the same.
  fx = await trackerFixture({ tokens: { chains: ["solana"], perChain: 1_500 }, limits: { dexscreenerTokens: 20, geckoterminal: 30, windowMs: 5_000 } });
});
afterAll(async () => {
  await fx.close();
  await db.drop();
});

describe("shared rate limit", () => {
  it("four trackers running at once together stay under the upstream limit: no 429", async () => {
    await insertSimTokens(db.sql, fx.sim.tokens());
    // 200/min with burst 2 allows at most 16.7 + 3 requests in any 5 s window: under the simulator's 20.
    const limits = {
      dexscreener: { key: `${fx.keyPrefix}limits:dex`, ratePerMinute: 200, burst: 2 },
      geckoterminal: { key: `${fx.keyPrefix}limits:gecko`, ratePerMinute: 29, burst: 1 },
    };
    const trackers = Array.from({ length: 4 }, (_, i) => {
      const sql = createSql(db.url, { max: 1 });
      return runTracker({
        sql,
        worker: `tracker-${i}`,
        ...fx.lanes({ limits }),
        timeBudgetMs: 8_000,
        signal: new AbortController().signal,
        settings: { batchSize: 30, reserveMs: 1_000 },
      }).finally(() => sql.end());
    });
    const results = await Promise.all(trackers);
    const stats = (await (await fetch(`${fx.sim.url}/__sim/stats`)).json()).endpoints;
    expect(stats["dexscreener.tokens"].rateLimited).toBe(0);
    expect(results.reduce((sum, r) => sum + r.rateLimited, 0)).toBe(0);
    expect(results.filter((r) => r.dexscreenerCalls > 0).length).toBeGreaterThan(1);
    const requests = stats["dexscreener.tokens"].requests;
    expect(requests).toBe(results.reduce((sum, r) => sum + r.dexscreenerCalls, 0));
    expect(requests).toBeGreaterThan(10);
    const [priced] = await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.tokens where status = 'active'`;
    expect(priced!.n).toBeGreaterThan(200);
  });
});
