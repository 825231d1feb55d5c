import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
import { pollSource } from "../../supabase/functions/_shared/poller/poll-source.ts";
import { claimSources } from "../../supabase/functions/_shared/sources/claim.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, callIds, EPOCH, pollerFixture, type PollerFixture, solanaMint, sourceRow } from "../helpers/poller.ts";

let db: TestDatabase;
let fx: PollerFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await pollerFixture();
});
afterAll(async () => {
  await fx.close();
  await db.drop();
});

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe("pollers running at once", () => {
  it("two pollers on the same feed at once store every call exactly once and lose none", async () => {
    const id = await addSource(db.sql, { name: "busy-feed", kind: "http_feed", config: { url: fx.sim.feedUrl, pageSize: 20, maxPages: 100 } });
    const tokens = fx.sim.tokens().filter((t) => t.kind !== "quote_only" && t.kind !== "late");
    const pools = [db.connect(2), db.connect(2)];
    let added = 0;
    let counted = 0;
    let overlapped = 0;
    for (let round = 0; round < 4; round++) {
      fx.sim.addFeedCalls(Array.from({ length: 130 }, (_, i) => {
        const token = tokens[(added + i) % tokens.length]!;
        return { chain: token.chain, token_address: token.address, symbol: token.symbol, called_at: new Date(EPOCH).toISOString() };
      }));
      added += 130;
      const reports = await Promise.all(pools.map(async (sql) => {
        const [source] = await claimSources(sql, { limit: 1, leaseSeconds: 60, name: "busy-feed" });
        return await pollSource({ sql, sources: fx.deps(), signal: AbortSignal.timeout(30_000) }, source!);
      }));
      counted += reports.reduce((sum, report) => sum + report.counts.newCalls, 0);
      overlapped += reports.reduce((sum, report) => sum + report.counts.duplicates, 0);
      expect(reports.every((report) => report.outcome === "ok")).toBe(true);
    }
    const stored = await callIds(db.sql, id);
    expect(stored).toHaveLength(added);
    expect(new Set(stored)).toEqual(new Set(ids(1, added)));
    // "new" is counted once per call across both pollers: the counts are exact, not doubled
    expect(counted).toBe(added);
    // and the two really did read the same pages: the later one merged them as duplicates
    expect(overlapped).toBeGreaterThan(0);
    expect((await sourceRow(db.sql, id)).cursor).toBe(String(added));
    const [counters] = await db.sql<{ new_calls: number }[]>`select sum(new_calls)::int as new_calls from peakwatch.source_counters where source_id = ${id}`;
    expect(counters!.new_calls).toBe(added);
  });

  it("the same batch ingested twice at once stores each call once, and the counts add up to one batch", async () => {
    const id = await addSource(db.sql, { name: "bot", kind: "manual" });
    const batch: IngestCall[] = Array.from({ length: 300 }, (_, i) => ({
      external_id: `m${i}`,
      chain: "solana",
      address: solanaMint(10_000 + (i % 120)),
      ticker: `T${i % 120}`,
      group: null,
      called_at: new Date(Date.now() - 60_000).toISOString(),
      entry_price_usd: null,
      entry_market_cap_usd: null,
    }));
    const results = await Promise.all([db.connect(1), db.connect(1)].map((sql) => ingestCalls(sql, { sourceId: id, calls: batch })));
    expect(results.reduce((sum, r) => sum + r.newCalls, 0)).toBe(300);
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).toBe(300);
    expect(results.reduce((sum, r) => sum + r.newTokens, 0)).toBe(120);
    expect(await callIds(db.sql, id)).toHaveLength(300);
    const [queued] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id where t.address like 'Mint%'`;
    expect(queued!.n).toBe(120);
  });

  it("batches of two sources sharing new tokens in opposite orders go in side by side without deadlock", async () => {
    const [a, b] = [await addSource(db.sql, { name: "side-a", kind: "manual" }), await addSource(db.sql, { name: "side-b", kind: "manual" })];
    const batch = (prefix: string, order: number[]): IngestCall[] => order.map((n) => ({
      external_id: `${prefix}${n}`,
      chain: "base",
      address: `0x${(50_000 + n).toString(16).padStart(40, "0")}`,
      ticker: null,
      group: null,
      called_at: new Date(Date.now() - 60_000).toISOString(),
      entry_price_usd: null,
      entry_market_cap_usd: null,
    }));
    const up = Array.from({ length: 200 }, (_, i) => i);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        ingestCalls(db.connect(1), { sourceId: a, calls: batch(`r${round}-`, up) }),
        ingestCalls(db.connect(1), { sourceId: b, calls: batch(`r${round}-`, [...up].reverse()) }),
      ]);
      expect(results.map((r) => r.newCalls)).toEqual([200, 200]);
    }
    const addresses = batch("", up).map((call) => call.address);
    const [tokens] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.tokens where chain = 'base' and address = any (${addresses}::text[])`;
    expect(tokens!.n).toBe(200);
  });
});
