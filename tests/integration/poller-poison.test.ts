import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pollSource } from "../../supabase/functions/_shared/poller/poll-source.ts";
import { claimSources } from "../../supabase/functions/_shared/sources/claim.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, callIds, EPOCH, pollerFixture, type PollerFixture, sourceRow } from "../helpers/poller.ts";

let db: TestDatabase;
let fx: PollerFixture;
beforeAll(async () => {
  db = await createTestDatabase();
  fx = await pollerFixture({ tokens: { chains: ["solana"], perChain: 3, extra: [{ chain: "solana", kind: "poison" }] } });
});
afterAll(async () => {
  await fx.close();
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.source_counters cascade`;
  await db.sql`delete from peakwatch.sources where kind <> 'manual'`;
  await fetch(`${fx.sim.url}/__sim/reset`, { method: "POST" });
});

async function poll(name: string) {
  const [source] = await claimSources(db.sql, { limit: 1, leaseSeconds: 60, name });
  return await pollSource({ sql: db.sql, sources: fx.deps(), signal: AbortSignal.timeout(30_000), retry: { retries: 0, baseMs: 10, capMs: 10 } }, source!);
}

describe("poller: one bad feed item never stops its feed", () => {
  it("poison items are rejected and counted, the rest of the page is written and the cursor moves past them", async () => {
    const [steady, poison] = [fx.sim.tokens().find((t) => t.kind === "steady")!, fx.sim.tokens().find((t) => t.kind === "poison")!];
    const at = (minutes: number) => new Date(EPOCH - minutes * 60_000).toISOString();
    fx.sim.addFeedCalls([
      { chain: "solana", token_address: steady.address, symbol: "OK1", called_at: at(5) },
      { chain: "solana", token_address: steady.address, symbol: "Y0", called_at: "0000-01-01T00:00:00Z" },
      { chain: "solana", token_address: poison.address, symbol: poison.symbol, called_at: at(4), price_usd: 1e-40 },
      { chain: "solana", token_address: poison.address, symbol: "NUL\u0000\udc00", group: "g\u0000", called_at: at(3), market_cap_usd: 0 },
      { chain: "solana", token_address: steady.address, symbol: "OK2", called_at: at(2) },
    ]);
    const id = await addSource(db.sql, { name: "feed", kind: "http_feed", config: { url: fx.sim.feedUrl, pageSize: 100 } });
    const report = await poll("feed");
    expect(report.counts).toMatchObject({ pages: 1, fetched: 5, newCalls: 3, rejected: 2 });
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: "5" });
    expect(await callIds(db.sql, id)).toEqual(["1", "4", "5"]);
    const [nul] = await db.sql`select ticker, group_name, entry_market_cap_usd from peakwatch.calls where external_id = '4'`;
    expect(nul).toEqual({ ticker: "NUL\uFFFD", group_name: "g", entry_market_cap_usd: null });

    fx.sim.addFeedCalls([{ chain: "solana", token_address: steady.address, symbol: "OK3", called_at: at(1) }]);
    expect((await poll("feed")).counts).toMatchObject({ newCalls: 1, rejected: 0 });
    expect((await sourceRow(db.sql, id)).cursor).toBe("6");
  });
});
