import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SimToken } from "../../dev/market-sim/universe.ts";
import { pollSource, type RetryPolicy } from "../../supabase/functions/_shared/poller/poll-source.ts";
import type { SourceDeps } from "../../supabase/functions/_shared/sources/reader.ts";
import { claimSources } from "../../supabase/functions/_shared/sources/claim.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, callIds, EPOCH, pollerFixture, type PollerFixture, sourceRow } from "../helpers/poller.ts";

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
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.source_counters, peakwatch.copycat_tokens cascade`;
  await db.sql`delete from peakwatch.sources where kind <> 'manual'`;
  await fetch(`${fx.sim.url}/__sim/reset`, { method: "POST" });
});

const noRetry: RetryPolicy = { retries: 0, baseMs: 10, capMs: 10 };

async function poll(name: string, options: { retry?: RetryPolicy; deps?: Partial<SourceDeps> } = {}) {
  const [source] = await claimSources(db.sql, { limit: 1, leaseSeconds: 60, name });
  return await pollSource({ sql: db.sql, sources: fx.deps(options.deps), signal: AbortSignal.timeout(30_000), retry: options.retry ?? noRetry }, source!);
}

async function fault(provider: string, kind: string) {
  const response = await fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ provider, kind }) });
  expect(response.status).toBe(200);
}

const listed = (): SimToken[] => fx.sim.tokens().filter((t) => t.kind !== "quote_only" && t.kind !== "late");

/** n feed calls of simulator tokens, one a minute from the simulator's start. */
function addFeedCalls(n: number, from = 0): number[] {
  const tokens = listed();
  return fx.sim.addFeedCalls(Array.from({ length: n }, (_, i) => {
    const token = tokens[(from + i) % tokens.length]!;
    return { chain: token.chain, token_address: token.address, symbol: token.symbol, group: "g1", called_at: new Date(EPOCH - (n - i) * 60_000).toISOString() };
  }));
}

const feedSource = (config: Record<string, unknown> = {}, name = "feed") => addSource(db.sql, { name, kind: "http_feed", config: { url: fx.sim.feedUrl, ...config } });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i)).sort();

describe("http_feed against the simulator", () => {
  it("reads the feed page by page, stores every call once and leaves the cursor at the last id", async () => {
    addFeedCalls(250);
    const id = await feedSource({ pageSize: 100 });
    const first = await poll("feed");
    expect(first).toMatchObject({ outcome: "ok", error: null, counts: { pages: 3, fetched: 250, newCalls: 250, duplicates: 0, rejected: 0 } });
    expect(first.counts.newTokens).toBe(listed().length);
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: "250", last_error: null, due: false });
    expect(await callIds(db.sql, id)).toEqual(range(1, 250));

    addFeedCalls(5, 250);
    const second = await poll("feed");
    expect(second.counts).toMatchObject({ pages: 1, newCalls: 5, newTokens: 0, duplicates: 0 });
    expect((await sourceRow(db.sql, id)).cursor).toBe("255");
  });

  it("a feed with more than a poll's pages leaves the rest for the next poll, due at once", async () => {
    addFeedCalls(30);
    const id = await feedSource({ pageSize: 10, maxPages: 2 });
    expect((await poll("feed")).counts.newCalls).toBe(20);
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: "20", due: true });
    expect((await poll("feed")).counts.newCalls).toBe(10);
  });

  it("a since-time feed resumes at the last time read: the call at that instant returns as a duplicate, never a gap", async () => {
    addFeedCalls(25);
    const id = await feedSource({ cursor: "since_time", pageSize: 10 });
    const first = await poll("feed");
    expect(first.counts).toMatchObject({ newCalls: 25 });
    expect((await sourceRow(db.sql, id)).cursor).toBe(new Date(EPOCH - 60_000).toISOString());
    const token = listed()[0]!;
    fx.sim.addFeedCalls([1, 2, 3].map((m) => ({ chain: token.chain, token_address: token.address, symbol: token.symbol, called_at: new Date(EPOCH + m * 60_000).toISOString() })));
    const second = await poll("feed");
    expect(second.counts).toMatchObject({ newCalls: 3, duplicates: 1 });
    expect(await callIds(db.sql, id)).toEqual(range(1, 28));
    expect((await sourceRow(db.sql, id)).cursor).toBe(new Date(EPOCH + 3 * 60_000).toISOString());
  });

  it("a bearer-protected feed lets in the token from the named variable; a wrong one is a counted error and the cursor stays", async () => {
    addFeedCalls(3);
    fx.sim.configureFeed({ token: "feed-token-123" });
    fx.env.PEAKWATCH_FEED_TOKEN_GROUP = "wrong-token";
    const id = await feedSource({ tokenEnv: "PEAKWATCH_FEED_TOKEN_GROUP" });
    const refused = await poll("feed");
    expect(refused).toMatchObject({ outcome: "error", error: "UpstreamError: feed answered 401 to the token in PEAKWATCH_FEED_TOKEN_GROUP", counts: { errors: 1, newCalls: 0 } });
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: null, last_error: refused.error });

    fx.env.PEAKWATCH_FEED_TOKEN_GROUP = "feed-token-123";
    expect((await poll("feed")).counts.newCalls).toBe(3);
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: "3", last_error: null });
  });

  it("5xx: a counted error with last_error set and the cursor unchanged; once the feed recovers nothing is missing", async () => {
    addFeedCalls(5);
    const id = await feedSource();
    await fault("feed", "5xx");
    const failed = await poll("feed", { retry: { retries: 1, baseMs: 10, capMs: 10 } });
    expect(failed).toMatchObject({ outcome: "error", error: "UpstreamError: upstream answered 502", counts: { errors: 1, pages: 0 } });
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: null, last_error: "UpstreamError: upstream answered 502" });
    const [counters] = await db.sql`select polls, errors from peakwatch.source_counters where source_id = ${id}`;
    expect(counters).toEqual({ polls: 1, errors: 1 });

    await fault("feed", "none");
    expect((await poll("feed")).counts.newCalls).toBe(5);
    expect(await callIds(db.sql, id)).toEqual(range(1, 5));
  });

  it("a feed that never answers is given up after its timeout and counted; the next poll reads it all", async () => {
    addFeedCalls(4);
    const id = await feedSource({ timeoutMs: 300 });
    await fault("feed", "timeout");
    const started = Date.now();
    const failed = await poll("feed");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failed).toMatchObject({ outcome: "error", error: "UpstreamError: timeout", counts: { errors: 1 } });
    await fault("feed", "none");
    expect((await poll("feed")).counts.newCalls).toBe(4);
    expect((await sourceRow(db.sql, id)).cursor).toBe("4");
  });

  it("malformed items among good ones: the good ones go in, the bad ones are counted and named in last_error", async () => {
    addFeedCalls(9);
    const id = await feedSource();
    await fault("feed", "malformed_items");
    const result = await poll("feed");
    // a null leads the list and every third item (ids 2, 5, 8) lost token_address
    expect(result).toMatchObject({ outcome: "partial", counts: { fetched: 10, newCalls: 6, rejected: 4 } });
    expect(result.error).toBe("4 unreadable item(s); first: calls[0]: not an object");
    expect(await callIds(db.sql, id)).toEqual(["1", "3", "4", "6", "7", "9"]);
    expect(await sourceRow(db.sql, id)).toMatchObject({ cursor: "9", last_error: result.error });
    const [flow] = await db.sql`select fetched_last_hour, rejected_last_hour, calls_last_hour from peakwatch.source_flow where source_id = ${id}`;
    expect(flow).toEqual({ fetched_last_hour: 10, rejected_last_hour: 4, calls_last_hour: 6 });
  });

  it("a renamed field makes nothing readable: counted as rejected, an error, and the cursor stays before those calls", async () => {
    addFeedCalls(4);
    const id = await feedSource();
    await fault("feed", "renamed_field");
    const result = await poll("feed");
    expect(result).toMatchObject({ outcome: "error", counts: { fetched: 4, rejected: 4, newCalls: 0, errors: 1 } });
    expect(result.error).toMatch(/^SchemaError: http_feed: all 4 items failed the schema \(calls\[0\]\.token_address/);
    expect((await sourceRow(db.sql, id)).cursor).toBeNull();
    await fault("feed", "none");
    expect((await poll("feed")).counts.newCalls).toBe(4);
  });

  it("a cursor that goes backwards is not followed: the old calls merge as duplicates, it is reported, and nothing is lost", async () => {
    addFeedCalls(20);
    const id = await feedSource({ pageSize: 20 });
    expect((await poll("feed")).counts.newCalls).toBe(20);
    addFeedCalls(3, 20);
    await fault("feed", "cursor_backwards");
    const rewound = await poll("feed");
    expect(rewound.outcome).toBe("partial");
    expect(rewound.error).toBe("cursor went backwards: asked for items after 20, the feed answered next 19; kept 20");
    expect(rewound.counts).toMatchObject({ duplicates: 10, newCalls: 3 });
    expect((await sourceRow(db.sql, id)).cursor).toBe("20");

    await fault("feed", "none");
    addFeedCalls(2, 23);
    const after = await poll("feed");
    expect(after.counts).toMatchObject({ newCalls: 2, duplicates: 3 });
    expect(await callIds(db.sql, id)).toEqual(range(1, 25));
    expect((await sourceRow(db.sql, id)).cursor).toBe("25");
  });

  it("a call with an invalid address is rejected and counted; the rest of the page goes in", async () => {
    addFeedCalls(2);
    fx.sim.addFeedCalls([{ chain: "ethereum", token_address: "0xnot-an-address", symbol: "BAD", called_at: new Date(EPOCH).toISOString() }]);
    addFeedCalls(1, 2);
    const id = await feedSource();
    const result = await poll("feed");
    expect(result.counts).toMatchObject({ fetched: 4, newCalls: 3, rejected: 1 });
    expect(await callIds(db.sql, id)).toEqual(["1", "2", "4"]);
    expect((await sourceRow(db.sql, id)).cursor).toBe("4");
  });

  it("a poll cut off after its first page loses nothing: the next one resumes from the stored cursor", async () => {
    addFeedCalls(30);
    const id = await feedSource({ pageSize: 10 });
    let requests = 0;
    const dying: typeof fetch = (input, init) => (++requests === 2 ? Promise.reject(new TypeError("connection reset")) : fetch(input, init));
    const cut = await poll("feed", { deps: { fetch: dying } });
    expect(cut).toMatchObject({ outcome: "partial", counts: { pages: 1, newCalls: 10, errors: 1 } });
    expect(cut.error).toMatch(/connection reset/);
    expect((await sourceRow(db.sql, id)).cursor).toBe("10");
    expect((await poll("feed")).counts).toMatchObject({ newCalls: 20, duplicates: 0 });
    expect(await callIds(db.sql, id)).toEqual(range(1, 30));
  });

  it("the simulator's own feed generates a call a simulated minute, priced from its market", async () => {
    fx.sim.configureFeed({ everyMs: 60_000 });
    fx.sim.advance(10 * 60_000);
    await feedSource();
    expect((await poll("feed")).counts.newCalls).toBe(10);
    const rows = await db.sql`select entry_price_usd, group_name from peakwatch.calls`;
    expect(rows.every((row) => (row.entry_price_usd as number) > 0 && /^sim-/.test(row.group_name as string))).toBe(true);
  });
});

describe("dexscreener_profiles against the simulator", () => {
  it("latest profiles become calls of their tokens; the next poll of the same list is all duplicates", async () => {
    const id = await addSource(db.sql, { name: "profiles", kind: "dexscreener_profiles" });
    const first = await poll("profiles");
    expect(first).toMatchObject({ outcome: "ok", counts: { fetched: 30, newCalls: 30, newTokens: 30, rejected: 0 } });
    const second = await poll("profiles");
    expect(second.counts).toMatchObject({ newCalls: 0, duplicates: 30 });
    expect((await sourceRow(db.sql, id)).cursor).toBeNull();
  });

  it("faults: 5xx is an error; malformed items among good ones are counted and the rest go in", async () => {
    await addSource(db.sql, { name: "profiles", kind: "dexscreener_profiles", config: { timeoutMs: 500 } });
    await fault("dexscreener", "5xx");
    expect(await poll("profiles")).toMatchObject({ outcome: "error", error: "UpstreamError: upstream answered 502" });
    await fault("dexscreener", "malformed_items");
    const mixed = await poll("profiles");
    expect(mixed).toMatchObject({ outcome: "partial", counts: { fetched: 31, rejected: 11, newCalls: 20 } });
    await fault("dexscreener", "timeout");
    expect(await poll("profiles")).toMatchObject({ outcome: "error", error: "UpstreamError: timeout" });
  });
});

describe("geckoterminal_trending against the simulator", () => {
  it("trending pools become one call per base token, with the pool's price as entry", async () => {
    await addSource(db.sql, { name: "trending", kind: "geckoterminal_trending", config: { network: "solana", pages: 2 } });
    const result = await poll("trending");
    expect(result.outcome).toBe("ok");
    const pages = await Promise.all([1, 2].map(async (page) => (await fetch(`${fx.sim.geckoterminalUrl}/networks/solana/trending_pools?page=${page}`)).json()));
    const baseTokens = new Set(pages.flatMap((page) => page.data.map((pool: { relationships: { base_token: { data: { id: string } } } }) => pool.relationships.base_token.data.id)));
    expect(result.counts).toMatchObject({ newCalls: baseTokens.size, newTokens: baseTokens.size, rejected: 0 });
    expect(result.counts.newCalls).toBeGreaterThan(5);
    const rows = await db.sql<{ chain: string; entry_price_usd: number }[]>`
      select t.chain, k.entry_price_usd from peakwatch.calls k join peakwatch.tokens t on t.id = k.token_id`;
    expect(rows.every((row) => row.chain === "solana" && row.entry_price_usd > 0)).toBe(true);
  });

  it("a renamed price field is an error whose items count as rejected", async () => {
    await addSource(db.sql, { name: "trending", kind: "geckoterminal_trending", config: { network: "solana" } });
    await fault("geckoterminal", "renamed_field");
    const result = await poll("trending");
    expect(result).toMatchObject({ outcome: "error", counts: { newCalls: 0, errors: 1 } });
    expect(result.counts.rejected).toBeGreaterThan(0);
    expect(result.error).toMatch(/attributes\.base_token_price_usd/);
  });

  it("takes its slots from the GeckoTerminal quota the tracker uses; with no slot it does not call out and says so", async () => {
    await addSource(db.sql, { name: "trending", kind: "geckoterminal_trending", config: { network: "solana" } });
    await fx.redis.del(`${fx.keyPrefix}limits:geckoterminal`);
    await poll("trending");
    expect(await fx.redis.exists(`${fx.keyPrefix}limits:geckoterminal`)).toBe(1);

    const before = await (await fetch(`${fx.sim.url}/__sim/stats`)).json();
    const shut = { acquire: async () => false };
    const result = await poll("trending", { deps: { gates: { geckoterminal: shut, dexscreenerProfiles: shut } } });
    expect(result).toMatchObject({ outcome: "error", error: "ThrottledError: geckoterminal: no rate-limit slot", counts: { throttled: 1, errors: 1 } });
    const after = await (await fetch(`${fx.sim.url}/__sim/stats`)).json();
    expect(after.endpoints["geckoterminal.trending_pools"]).toEqual(before.endpoints["geckoterminal.trending_pools"]);
});
});
