import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
import { claimSources } from "../../supabase/functions/_shared/sources/claim.ts";
import { finishPoll } from "../../supabase/functions/_shared/sources/finish-poll.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, evmAddress, solanaMint, sourceRow } from "../helpers/poller.ts";

let db: TestDatabase;
let source: number;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.source_counters, peakwatch.copycat_tokens cascade`;
  await db.sql`delete from peakwatch.sources where kind <> 'manual'`;
  source = await addSource(db.sql, { name: "feed-a", kind: "http_feed", config: { url: "http://127.0.0.1:1/feed" } });
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function call(n: number, overrides: Partial<IngestCall> = {}): IngestCall {
  return {
    external_id: `c${n}`,
    chain: "solana",
    address: solanaMint(n),
    ticker: `TK${n}`,
    group: "alpha",
    called_at: minutesAgo(1),
    entry_price_usd: null,
    entry_market_cap_usd: null,
    ...overrides,
  };
}

/** Every row ingest may touch, as one comparable value. */
async function snapshot() {
  return await db.sql`
    select
      (select json_agg(t order by t.id) from peakwatch.tokens t) as tokens,
      (select json_agg(k order by k.id) from peakwatch.calls k) as calls,
      (select json_agg(q order by q.token_id) from peakwatch.queue q) as queue,
      (select json_agg(s order by s.id) from peakwatch.sources s) as sources,
      (select json_agg(c order by c.ticker, c.token_id) from peakwatch.copycat_tokens c) as copycats`;
}

describe("ingest_calls", () => {
  it("a batch goes in once: its new tokens are queued at top priority and its calls point at them", async () => {
    const result = await ingestCalls(db.sql, { sourceId: source, calls: [call(1), call(2), call(3, { address: solanaMint(1) })] });
    expect(result).toMatchObject({ newCalls: 3, duplicates: 0, rejected: 0, newTokens: 2, outcomes: ["new", "new", "new"] });
    const queued = await db.sql`
      select t.address, q.priority, q.due_at <= now() as due from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id order by t.address`;
    expect(queued).toEqual([
      { address: solanaMint(1), priority: 0, due: true },
      { address: solanaMint(2), priority: 0, due: true },
    ]);
    const [calls] = await db.sql<{ n: number; tokens: number }[]>`
      select count(*)::int as n, count(distinct token_id)::int as tokens from peakwatch.calls where source_id = ${source}`;
    expect(calls).toEqual({ n: 3, tokens: 2 });
  });

  it("re-ingesting the same batch is a no-op: every call is a duplicate and no row changes", async () => {
    const batch = [call(1), call(2, { chain: "base", address: evmAddress(2).toUpperCase().replace("0X", "0x") }), call(3)];
    await ingestCalls(db.sql, { sourceId: source, calls: batch });
    const before = await snapshot();
    const again = await ingestCalls(db.sql, { sourceId: source, calls: batch });
    expect(again).toMatchObject({ newCalls: 0, duplicates: 3, rejected: 0, newTokens: 0, copycats: 0, outcomes: ["duplicate", "duplicate", "duplicate"] });
    expect(await snapshot()).toEqual(before);
  });

  it("a call with a bad address is rejected with its reason, and the rest of the batch goes in", async () => {
    const result = await ingestCalls(db.sql, {
      sourceId: source,
      calls: [
        call(1),
        call(2, { chain: "ethereum", address: "0x1234" }),
        call(3, { address: "0OIl-not-base58-0OIl-not-base58-0OIl" }),
        call(4, { chain: "sui", address: "has spaces in it" }),
        call(5, { chain: "ethereum", address: evmAddress(5) }),
        call(6, { chain: "Not A Chain" }),
      ],
    });
    expect(result.outcomes).toEqual(["new", "rejected", "rejected", "rejected", "new", "rejected"]);
    expect(result.reasons).toEqual([
      null,
      "address: not an EVM address (0x and 40 hex digits)",
      "address: not a Solana address (base58, 32 to 44 characters)",
      "address: not an address (3 to 128 printable characters without spaces)",
      null,
      "chain: not a chain id",
    ]);
    expect(result).toMatchObject({ newCalls: 2, rejected: 4, newTokens: 2 });
    const [tokens] = await db.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.tokens`;
    expect(tokens!.n).toBe(2);
  });

  it("items that are not calls at all (not objects, missing or mistyped fields) are rejected one by one", async () => {
    const [row] = await db.sql<{ outcomes: string[]; reasons: (string | null)[] }[]>`
      select outcomes, array_replace(reasons, '', 'ok') as reasons from peakwatch.ingest_calls(${source}, ${db.sql.json([
        null,
        7,
        { chain: "solana", address: solanaMint(1), called_at: minutesAgo(1) },
        { external_id: "x", chain: "solana", address: solanaMint(1), called_at: "yesterday" },
        { external_id: "y", chain: "solana", address: solanaMint(1), called_at: minutesAgo(1), entry_price_usd: "cheap" },
        { external_id: "z", chain: "solana", address: solanaMint(1), called_at: minutesAgo(1), entry_market_cap_usd: 0 },
        { external_id: "f", chain: "solana", address: solanaMint(1), called_at: new Date(Date.now() + 3_600_000).toISOString() },
        { external_id: "ok", chain: "solana", address: solanaMint(1), called_at: minutesAgo(1), entry_price_usd: 0.5 },
      ])})`;
    // a market cap of 0 or below is unknown, not a reason to refuse the call
    expect(row!.outcomes).toEqual(["rejected", "rejected", "rejected", "rejected", "rejected", "new", "rejected", "new"]);
    expect(row!.reasons).toEqual([
      "call: not a JSON object",
      "call: not a JSON object",
      "external_id: missing",
      "called_at: not an ISO 8601 timestamp with a time zone",
      "entry_price_usd: not a positive number",
      "ok",
      "called_at: in the future",
      "ok",
    ]);
  });

  it("EVM addresses are lowercased so case variants are one token; Solana mints keep their case", async () => {
    const evm = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
    const mint = "So11111111111111111111111111111111111111112";
    const result = await ingestCalls(db.sql, {
      sourceId: source,
      calls: [
        call(1, { chain: "ethereum", address: evm }),
        call(2, { chain: "ethereum", address: evm.toLowerCase() }),
        call(3, { address: mint }),
        call(4, { address: mint.toLowerCase() }),
      ],
    });
    expect(result).toMatchObject({ newCalls: 4, newTokens: 3 });
    const tokens = await db.sql`select chain, address from peakwatch.tokens order by chain, address`;
    expect(tokens).toEqual([
      { chain: "ethereum", address: evm.toLowerCase() },
      { chain: "solana", address: mint },
      { chain: "solana", address: mint.toLowerCase() },
    ]);
  });

  it("repeats of an external id within one batch: the first goes in, the others are duplicates", async () => {
    const result = await ingestCalls(db.sql, { sourceId: source, calls: [call(1), call(2), call(1, { address: solanaMint(9) })] });
    expect(result.outcomes).toEqual(["new", "new", "duplicate"]);
    const [row] = await db.sql`select t.address from peakwatch.calls k join peakwatch.tokens t on t.id = k.token_id where k.external_id = 'c1'`;
    expect(row!.address).toBe(solanaMint(1));
  });

  it("a call of a token priced only after it was made gets no entry yet, shows current values and pulls the token forward", async () => {
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { called_at: minutesAgo(30) })] });
    await db.sql`
      update peakwatch.tokens set status = 'active', price_usd = 0.002, market_cap_usd = 2000000, liquidity_usd = 50000,
        first_priced_at = now() - interval '20 minutes', last_priced_at = now() - interval '10 seconds'`;
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '10 minutes', claimed_by = null`;

    const other = await addSource(db.sql, { name: "feed-b", kind: "http_feed", config: { url: "http://127.0.0.1:1/feed" } });
    await ingestCalls(db.sql, { sourceId: other, calls: [call(1, { external_id: "b1", called_at: minutesAgo(2) })] });
    const [view] = await db.sql`
      select entry_price_usd, entry_market_cap_usd, price_usd, market_cap_usd, ath_price_usd, status, roi
      from peakwatch.call_performance where source = 'feed-b'`;
    // observed 10 s ago, called 2 min ago: a later price is never the entry (the next check fills it, approximate)
    expect(view).toEqual({
      entry_price_usd: null, entry_market_cap_usd: null, price_usd: 0.002, market_cap_usd: 2000000,
      ath_price_usd: 0.002, status: "active", roi: null,
    });
    const [queued] = await db.sql`select priority, due_at <= now() as due from peakwatch.queue`;
    expect(queued).toEqual({ priority: 1, due: true });
  });

  it("entry values sent with a call are kept, and a price observed before the call is no ATH of it", async () => {
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { called_at: minutesAgo(30) })] });
    await db.sql`update peakwatch.tokens set status = 'active', price_usd = 0.002, market_cap_usd = 0, last_priced_at = now() - interval '5 minutes'`;
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1, { external_id: "late", called_at: minutesAgo(1), entry_price_usd: 0.0025 })] });
    const [row] = await db.sql`select entry_price_usd, entry_market_cap_usd, ath_price_usd from peakwatch.calls where external_id = 'late'`;
    expect(row).toEqual({ entry_price_usd: 0.0025, entry_market_cap_usd: null, ath_price_usd: null });
  });

  it("the cursor moves with the rows, and only if it is still where this poll started", async () => {
    const first = await ingestCalls(db.sql, { sourceId: source, calls: [call(1)], cursor: "1", expectedCursor: null });
    expect(first.cursorConflict).toBe(false);
    expect((await sourceRow(db.sql, source)).cursor).toBe("1");

    // A slower poller that also started from null: its rows merge as duplicates, the cursor stays.
    const stale = await ingestCalls(db.sql, { sourceId: source, calls: [call(1), call(2)], cursor: "2", expectedCursor: null });
    expect(stale).toMatchObject({ cursorConflict: true, newCalls: 1, duplicates: 1 });
    expect((await sourceRow(db.sql, source)).cursor).toBe("1");

    await ingestCalls(db.sql, { sourceId: source, calls: [], cursor: "2", expectedCursor: "1" });
    expect((await sourceRow(db.sql, source)).cursor).toBe("2");
  });

  it("a ticker called by 3 distinct tokens within an hour is flagged on each of them; 2, or 3 spread over more, are not", async () => {
    await ingestCalls(db.sql, {
      sourceId: source,
      calls: [
        call(1, { ticker: "$PEPE", called_at: minutesAgo(200) }),
        call(2, { ticker: "pepe", called_at: minutesAgo(130) }),
        call(3, { ticker: "PEPE", called_at: minutesAgo(75) }),
        call(4, { ticker: "DOGE", called_at: minutesAgo(50) }),
        call(5, { ticker: "DOGE", called_at: minutesAgo(40) }),
        call(6, { external_id: "d4-again", address: solanaMint(4), ticker: "DOGE", called_at: minutesAgo(30) }),
      ],
    });
    expect(await db.sql`select * from peakwatch.copycat_tickers`).toEqual([]);

    const result = await ingestCalls(db.sql, { sourceId: source, calls: [call(7, { ticker: "PEPE", called_at: minutesAgo(100) })] });
    expect(result.copycats).toBe(3);
    const [pepe] = await db.sql`select ticker, tokens, addresses from peakwatch.copycat_tickers`;
    expect(pepe).toEqual({ ticker: "PEPE", tokens: 3, addresses: [2, 3, 7].map((n) => `solana:${solanaMint(n)}`).sort() });

    // Another source calling the same copycat is data about that token, not a new flag.
    const other = await addSource(db.sql, { name: "feed-b", kind: "http_feed", config: { url: "http://127.0.0.1:1/feed" } });
    const again = await ingestCalls(db.sql, { sourceId: other, calls: [call(7, { ticker: "PEPE", called_at: minutesAgo(90) })] });
    expect(again.copycats).toBe(0);
  });

  it("counters per source and minute add up to what came in; source_flow sets calls against priced tokens", async () => {
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1), call(2), call(3, { chain: "ethereum", address: "0xbad" })], unreadable: 2 });
    await ingestCalls(db.sql, { sourceId: source, calls: [call(1), call(4)] });
    await finishPoll(db.sql, source, { outcome: "error", error: "UpstreamError: upstream answered 502" });
    await db.sql`update peakwatch.tokens set last_priced_at = now(), price_usd = 1, status = 'active' where address = ${solanaMint(1)}`;
    const [flow] = await db.sql`
      select polls_last_hour, errors_last_hour, fetched_last_hour, calls_last_hour, duplicates_last_hour, rejected_last_hour,
        new_tokens_last_hour, calls_priced_last_hour, tokens_called_last_hour, tokens_priced_last_hour, last_error,
        oldest_unpriced_call_at is not null as waiting
      from peakwatch.source_flow where name = 'feed-a'`;
    expect(flow).toEqual({
      polls_last_hour: 1, errors_last_hour: 1, fetched_last_hour: 7, calls_last_hour: 3, duplicates_last_hour: 1,
      rejected_last_hour: 3, new_tokens_last_hour: 3, calls_priced_last_hour: 1, tokens_called_last_hour: 3,
      tokens_priced_last_hour: 1, last_error: "UpstreamError: upstream answered 502", waiting: true,
    });
  });

  it("an unknown source or a batch that is not an array is refused with a clear error", async () => {
    await expect(ingestCalls(db.sql, { sourceId: 999_999, calls: [call(1)] })).rejects.toThrow(/source 999999 does not exist/);
    await expect(db.sql`select * from peakwatch.ingest_calls(${source}, '{}'::jsonb)`).rejects.toThrow(/must be a JSON array/);
  });
});

describe("claim_sources and finish_poll", () => {
  it("a claimed source is leased: the next claim skips it; disabled and manual sources are never claimed, except by name", async () => {
    await addSource(db.sql, { name: "off", kind: "http_feed", enabled: false, config: {} });
    const first = await claimSources(db.sql, { limit: 10, leaseSeconds: 60 });
    expect(first.map((s) => s.name)).toEqual(["feed-a"]);
    expect(await claimSources(db.sql, { limit: 10, leaseSeconds: 60 })).toEqual([]);
    const named = await claimSources(db.sql, { limit: 1, leaseSeconds: 60, name: "off" });
    expect(named).toMatchObject([{ name: "off", kind: "http_feed", cursor: null, pollIntervalSeconds: 60 }]);
    expect(await claimSources(db.sql, { limit: 1, leaseSeconds: 60, name: "nope" })).toEqual([]);
  });

  it("a source due a few seconds after the cron tick is polled at that tick, not one interval later", async () => {
    await db.sql`update peakwatch.sources set next_poll_at = now() + interval '3 seconds' where name = 'feed-a'`;
    expect((await claimSources(db.sql, { limit: 10, leaseSeconds: 60 })).map((s) => s.name)).toEqual(["feed-a"]);
    // More than a fifth of its 60 s interval away: not yet.
    await db.sql`update peakwatch.sources set next_poll_at = now() + interval '20 seconds' where name = 'feed-a'`;
    expect(await claimSources(db.sql, { limit: 10, leaseSeconds: 60 })).toEqual([]);
  });

  it("two pollers claiming at once never get the same source", async () => {
    for (let i = 0; i < 20; i++) await addSource(db.sql, { name: `s${i}`, kind: "dexscreener_profiles" });
    const [a, b] = await Promise.all([db.connect(1), db.connect(1)].map((sql) => claimSources(sql, { limit: 15, leaseSeconds: 60 })));
    const names = [...a!, ...b!].map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBe(21);
  });

  it("finish_poll: ok clears last_error, error keeps the last success, more makes the source due at once", async () => {
    await finishPoll(db.sql, source, { outcome: "ok" });
    const ok = await sourceRow(db.sql, source);
    expect(ok).toMatchObject({ last_error: null, due: false });
    await finishPoll(db.sql, source, { outcome: "error", error: "timeout" });
    const failed = await sourceRow(db.sql, source);
    expect(failed).toMatchObject({ last_error: "timeout", last_success_at: ok.last_success_at, due: false });
    await finishPoll(db.sql, source, { outcome: "partial", error: "2 unreadable item(s)", more: true });
    expect(await sourceRow(db.sql, source)).toMatchObject({ last_error: "2 unreadable item(s)", due: true });
    await finishPoll(db.sql, source, { outcome: "ok" });
    const clean = await sourceRow(db.sql, source);
    expect(clean.last_error).toBeNull();
    expect(clean.last_error_at).not.toBeNull();
    await expect(finishPoll(db.sql, source, { outcome: "error" })).rejects.toThrow(/needs an error message/);
  });
});
