import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
import { claim } from "../../supabase/functions/_shared/queue/claim.ts";
import { fail } from "../../supabase/functions/_shared/queue/fail.ts";
import type { Check } from "../../supabase/functions/_shared/tracker/record-checks.ts";
import { writeChecks } from "../../supabase/functions/_shared/tracker/write-checks.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { addSource, solanaMint } from "../helpers/poller.ts";

let db: TestDatabase;
let source: number;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  await db.sql`delete from peakwatch.sources where name <> 'manual'`;
  source = await addSource(db.sql, { name: "feed-t", kind: "http_feed", config: { url: "http://127.0.0.1:1/feed" } });
});

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const priced = (tokenId: number, price: number, observedAt = new Date().toISOString(), extra: Partial<Check> = {}): Check =>
  ({
    token_id: tokenId, outcome: "priced", price_usd: price, market_cap_usd: price * 1e9, liquidity_usd: 50_000,
    pair_address: "Pair", dex_id: "raydium", symbol: "PEAK", name: "Peak", observed_at: observedAt, ...extra,
  }) as Check;
const absent = (tokenId: number): Check => ({ token_id: tokenId, outcome: "no_pair", reason: "not_in_response" });
const unpriceable = (tokenId: number, listed = true): Check => ({ token_id: tokenId, outcome: "unpriceable", reason: "unpriceable", listed });

async function check(tokenId: number, item: Check) {
  await db.sql`update peakwatch.queue set due_at = now() - interval '1 second', claimed_by = null where token_id = ${tokenId}`;
  await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
  return await writeChecks(db.sql, "w", [item], 3);
}

const tokenRow = async (id: number) =>
  (await db.sql<{ status: string; missing_checks: number; last_error: string | null }[]>`
    select status, missing_checks, last_error from peakwatch.tokens where id = ${id}`)[0]!;
const dueIn = async (id: number) =>
  (await db.sql<{ s: number; priority: number; attempts: number }[]>`
    select extract(epoch from due_at - now())::float8 as s, priority, attempts from peakwatch.queue where token_id = ${id}`)[0]!;

const call = (n: number, overrides: Partial<IngestCall> = {}): IngestCall => ({
  external_id: `c${n}`, chain: "solana", address: solanaMint(n), ticker: "PEAK", group: "g",
  called_at: ago(60_000), entry_price_usd: null, entry_market_cap_usd: null, ...overrides,
});

describe("record_checks: dead needs evidence", () => {
  it("listed but unpriceable is no miss and no attempt, rescheduled at normal cadence; listed ends a run of misses", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await check(id!, priced(id!, 1));
    await check(id!, absent(id!));
    await check(id!, absent(id!));
    expect(await tokenRow(id!)).toMatchObject({ status: "active", missing_checks: 2 });
    await check(id!, unpriceable(id!));
    expect(await tokenRow(id!)).toMatchObject({ status: "active", missing_checks: 0, last_error: "unpriceable" });
    const due = await dueIn(id!);
    expect(due).toMatchObject({ priority: 1, attempts: 0 });
    expect(due.s).toBeLessThan(40); // young, active: 30 s cadence
  });

  it("an absence not every provider confirmed neither counts nor clears a run of misses", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await check(id!, priced(id!, 1));
    await check(id!, absent(id!));
    await check(id!, unpriceable(id!, false));
    expect(await tokenRow(id!)).toMatchObject({ status: "active", missing_checks: 1 });
  });

  it("K consecutive absences from every provider, or K checks under the liquidity floor, make a token dead", async () => {
    const [a, b] = await insertTokens(db.sql, 2);
    for (const id of [a!, b!]) await check(id, priced(id, 1));
    for (let k = 1; k <= 3; k++) {
      await check(a!, absent(a!));
      await check(b!, { token_id: b!, outcome: "no_pair", reason: "liquidity 3 below floor 100" });
      expect((await tokenRow(a!)).status).toBe(k < 3 ? "active" : "dead");
      expect((await tokenRow(b!)).status).toBe(k < 3 ? "active" : "dead");
    }
  });

  it("stores a market cap of 0 or below as null and never fails the batch over it", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await db.sql`insert into peakwatch.calls (source_id, external_id, token_id, called_at) values (${source}, 'k', ${id!}, now() - interval '1 minute')`;
    const written = await check(id!, priced(id!, 2, undefined, { market_cap_usd: 0, liquidity_usd: -4 }));
    expect(written.poison).toEqual([]);
    const [row] = await db.sql`select market_cap_usd, liquidity_usd, price_usd from peakwatch.tokens where id = ${id!}`;
    expect(row).toEqual({ market_cap_usd: null, liquidity_usd: null, price_usd: 2 });
  });
});

describe("poison checks", () => {
  it("a NUL or unpaired surrogate in a name is cleaned, and the batch is written", async () => {
    const ids = await insertTokens(db.sql, 3);
    await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    const written = await writeChecks(db.sql, "w", [
      priced(ids[0]!, 1, undefined, { name: "Bad\u0000Name", symbol: "X\ud800" }),
      priced(ids[1]!, 2),
      priced(ids[2]!, 3, undefined, { name: "\udc00tail" }),
    ], 3);
    expect(written).toMatchObject({ poison: [] });
    expect(written.held).toHaveLength(3);
    const names = await db.sql`select name, symbol from peakwatch.tokens order by id`;
    expect(names).toEqual([{ name: "BadName", symbol: "X\uFFFD" }, { name: "Peak", symbol: "PEAK" }, { name: "\uFFFDtail", symbol: "PEAK" }]);
  });

  it("a check Postgres refuses is isolated: its neighbours are written, it becomes an attempt, and always-poison dead-letters after N", async () => {
    const ids = await insertTokens(db.sql, 4);
    await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    const checks = ids.map((id, i) => priced(id, i + 1, i === 2 ? "0000-01-01T00:00:00Z" : undefined));
    const first = await writeChecks(db.sql, "w", checks, 3);
    expect(first.held.map((row) => row.token_id).sort()).toEqual([ids[0], ids[1], ids[3]].sort());
    expect(first.poison).toEqual([{ tokenId: ids[2], error: expect.stringMatching(/^poison: refused by Postgres/) }]);
    const policy = { maxAttempts: 2, baseSeconds: 1, capSeconds: 1 };
    expect(await fail(db.sql, "w", first.poison, policy)).toMatchObject([{ attempts: 1, dead_lettered: false }]);

    await db.sql`update peakwatch.queue set due_at = now() - interval '1 second' where token_id = ${ids[2]!}`;
    await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    const again = await writeChecks(db.sql, "w", [priced(ids[2]!, 1, undefined, { price_usd: 1e-40 })], 3);
    expect(again.poison[0]!.error).toMatch(/price_usd: below 1e-30/);
    expect(await fail(db.sql, "w", again.poison, policy)).toMatchObject([{ attempts: 2, dead_lettered: true }]);
  });
});

describe("sampling follows the call", () => {
  it("a token first seen a month ago and called again now is refreshed at young cadence", async () => {
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { external_id: "old", called_at: ago(30 * 86_400_000) })] });
    const [token] = await db.sql<{ id: number }[]>`update peakwatch.tokens set created_at = now() - interval '30 days' returning id`;
    const id = token!.id;
    await check(id, priced(id, 1));
    expect((await dueIn(id)).s).toBeGreaterThan(600); // last called a month ago: 15 min

    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { external_id: "new", called_at: ago(5_000) })] });
    await check(id, priced(id, 1.1));
    expect((await dueIn(id)).s).toBeLessThan(40);
  });
});

describe("entry values are honest", () => {
  async function pricedToken(n: number, observedAgoMs: number) {
    await ingestCalls(db.sql, { sourceId: source, calls: [call(n, { external_id: `seed${n}`, called_at: ago(3_600_000) })] });
    await db.sql`
      update peakwatch.tokens set status = 'active', price_usd = 0.5, market_cap_usd = 5e8, first_priced_at = now() - interval '1 hour',
        last_priced_at = ${ago(observedAgoMs)} where address = ${solanaMint(n)}`;
  }

  it("a call takes the token's price as entry when observed at or before the call within the tolerance", async () => {
    await pricedToken(1, 120_000);
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { external_id: "on-time", called_at: ago(60_000) })] });
    const [row] = await db.sql`select entry_price_usd, entry_approximate from peakwatch.call_performance where external_id = 'on-time'`;
    expect(row).toEqual({ entry_price_usd: 0.5, entry_approximate: false });
  });

  it("never from a price observed after the call, nor long before it: the next price fills it, approximate, with its time", async () => {
    await pricedToken(2, 10_000); // observed after the call
    await pricedToken(3, 3_600_000); // 59 min before the call: past the 5 min tolerance
    await ingestCalls(db.sql, {
      sourceId: source,
      calls: [call(2, { external_id: "late", called_at: ago(60_000) }), call(3, { external_id: "stale", called_at: ago(60_000) })],
    });
    const before = await db.sql`select external_id, entry_price_usd, entry_approximate from peakwatch.call_performance where external_id in ('late', 'stale') order by 1`;
    expect(before).toEqual([
      { external_id: "late", entry_price_usd: null, entry_approximate: null },
      { external_id: "stale", entry_price_usd: null, entry_approximate: null },
    ]);
    const [id] = await db.sql<{ id: number }[]>`select id from peakwatch.tokens where address = ${solanaMint(2)}`;
    const observed = new Date().toISOString();
    await check(id!.id, priced(id!.id, 0.7, observed));
    const [late] = await db.sql<{ entry_price_usd: number; entry_approximate: boolean; entry_observed_at: Date }[]>`
      select entry_price_usd, entry_approximate, entry_observed_at from peakwatch.call_performance where external_id = 'late'`;
    expect(late).toMatchObject({ entry_price_usd: 0.7, entry_approximate: true });
    expect(new Date(late!.entry_observed_at).toISOString()).toBe(observed);
  });
});

describe("poison feed items", () => {
  it("year 0, an entry price that overflows ROI, NUL in a ticker and a market cap of 0: poison rejected with reasons, the rest written, the cursor moves", async () => {
    const result = await ingestCalls(db.sql, {
      sourceId: source,
      cursor: "42",
      expectedCursor: null,
      calls: [
        call(1),
        call(2, { called_at: "0000-01-01T00:00:00.000Z" }),
        call(3, { entry_price_usd: 1e-40 }),
        call(4, { ticker: "NUL\u0000\ud800", group: "g\u0000" }),
        call(5, { entry_market_cap_usd: 0, entry_price_usd: 0.01 }),
      ],
    });
    expect(result.outcomes).toEqual(["new", "rejected", "rejected", "new", "new"]);
    expect(result.reasons).toEqual([null, "called_at: before 2010", "entry_price_usd: below 1e-30 USD (ROI would overflow)", null, null]);
    expect(result.rejected).toBe(2);
    const [src] = await db.sql`select cursor from peakwatch.sources where id = ${source}`;
    expect(src!.cursor).toBe("42");
    const calls = await db.sql`select external_id, ticker, entry_market_cap_usd from peakwatch.calls order by external_id`;
    expect(calls).toEqual([
      { external_id: "c1", ticker: "PEAK", entry_market_cap_usd: null },
      { external_id: "c4", ticker: "NUL\uFFFD", entry_market_cap_usd: null },
      { external_id: "c5", ticker: "PEAK", entry_market_cap_usd: null },
    ]);
  });

  it("ingest_calls itself rejects a called_at Postgres cannot hold or before 2010, one by one (SQL level)", async () => {
    const [row] = await db.sql<{ outcomes: string[]; reasons: string[] }[]>`
      select outcomes, reasons from peakwatch.ingest_calls(${source}, ${db.sql.json([
        { external_id: "y0", chain: "solana", address: solanaMint(1), called_at: "0000-01-01T00:00:00Z" },
        { external_id: "m13", chain: "solana", address: solanaMint(2), called_at: "2026-13-01T00:00:00Z" },
        { external_id: "old", chain: "solana", address: solanaMint(3), called_at: "1970-01-01T00:00:00Z" },
        { external_id: "tiny", chain: "solana", address: solanaMint(4), called_at: ago(1000), entry_price_usd: 1e-40 },
        { external_id: "ok", chain: "solana", address: solanaMint(5), called_at: ago(1000) },
      ])})`;
    expect(row!.outcomes).toEqual(["rejected", "rejected", "rejected", "rejected", "new"]);
    expect(row!.reasons.slice(0, 4)).toEqual([
      "called_at: not a date and time Postgres can hold (year 0, month 13, …)",
      "called_at: not a date and time Postgres can hold (year 0, month 13, …)",
      "called_at: before 2010",
      "entry_price_usd: below 1e-30 USD (ROI would overflow)",
    ]);
  });
});
