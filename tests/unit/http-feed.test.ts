import { describe, expect, it } from "vitest";
import { SchemaError, UpstreamError } from "../../supabase/functions/_shared/providers/types.ts";
import { type BearerSource, envBearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import {
  buildFeedUrl,
  compareCursors,
  createHttpFeedReader,
  httpFeedConfig,
  readFeedAnswer,
} from "../../supabase/functions/_shared/sources/http-feed.ts";
import { type Source, SourceConfigError } from "../../supabase/functions/_shared/sources/types.ts";
import { jsonResponse, stubFetch } from "../helpers/fixtures.ts";

const MINT = "So11111111111111111111111111111111111111112";
const config = (extra: Record<string, unknown> = {}) => httpFeedConfig.parse({ url: "https://calls.example/api/feed?group=alpha", ...extra });
const source = (cfg: Record<string, unknown>, name = "alpha-feed"): Source => ({
  id: 1,
  name,
  kind: "http_feed",
  config: { url: "https://calls.example/api/feed", ...cfg },
  cursor: null,
  pollIntervalSeconds: 60,
});
const item = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  chain: "solana",
  token_address: MINT,
  symbol: "SOL",
  called_at: "2026-11-01T00:00:00Z",
  ...extra,
});
const signal = new AbortController().signal;

describe("http_feed config", () => {
  it("fills defaults, keeps the URL's own query, and puts cursor and page size in it", () => {
    const parsed = config();
    expect(parsed).toMatchObject({ cursor: "since_id", pageSize: 100, itemsPath: "calls", nextCursorPath: "next_cursor", fields: { address: "token_address" } });
    expect(buildFeedUrl(parsed, "41")).toBe("https://calls.example/api/feed?group=alpha&since_id=41&limit=100");
    expect(buildFeedUrl(config({ cursor: "since_time", limitParam: "n" }), null)).toBe("https://calls.example/api/feed?group=alpha&n=100");
  });

  it("a config that does not fit names the source and each bad key", () => {
    expect(() => createHttpFeedReader(source({ url: "ftp://x", pageSize: 0, surprise: 1 }), { bearer: envBearerSource(() => undefined) }))
      .toThrow(SourceConfigError);
    expect(() => createHttpFeedReader(source({ url: "ftp://x", pageSize: 0 }), { bearer: envBearerSource(() => undefined) }))
      .toThrow(/config of http_feed source alpha-feed: url: .*; pageSize: /);
  });

  it("tokenEnv must be a PEAKWATCH_FEED_TOKEN_ variable, so a source row can never send the service key out", () => {
    expect(httpFeedConfig.safeParse({ url: "https://x.example", tokenEnv: "SUPABASE_SERVICE_ROLE_KEY" }).success).toBe(false);
    expect(httpFeedConfig.safeParse({ url: "https://x.example", tokenEnv: "PEAKWATCH_FEED_TOKEN_ALPHA" }).success).toBe(true);
  });
});

describe("http_feed answers", () => {
  it("maps fields by their configured paths and takes the cursor the feed announces", () => {
    const cfg = config({
      itemsPath: "data.items",
      nextCursorPath: "paging.next",
      hasMorePath: null,
      pageSize: 2,
      fields: { external_id: "callId", address: "token.mint", chain: "token.chain", ticker: "token.symbol", called_at: "ts", group: "channel", entry_price_usd: "px" },
    });
    const body = {
      data: { items: [
        { callId: "a1", token: { mint: MINT, chain: "Solana", symbol: "$SOL" }, ts: 1_790_000_000, channel: "alpha", px: "0.5" },
        { callId: "a2", token: { mint: MINT, chain: "solana" }, ts: "2026-11-01T01:00:00+01:00", px: 0 },
      ] },
      paging: { next: "cursor-xyz" },
    };
    const page = readFeedAnswer(body, cfg, null);
    expect(page.calls).toEqual([
      { external_id: "a1", chain: "solana", address: MINT, ticker: "$SOL", group: "alpha", called_at: new Date(1_790_000_000_000).toISOString(), entry_price_usd: 0.5, entry_market_cap_usd: null },
      { external_id: "a2", chain: "solana", address: MINT, ticker: null, group: null, called_at: "2026-11-01T00:00:00.000Z", entry_price_usd: null, entry_market_cap_usd: null },
    ]);
    // a full page without a has-more flag means more
    expect(page).toMatchObject({ cursor: "cursor-xyz", more: true, unreadable: 0, warning: null });
  });

  it("without an announced cursor the largest id read is the cursor, counting items that fail the schema", () => {
    const page = readFeedAnswer({ calls: [item(7), { id: 12, chain: "solana" }, item(9)] }, config(), "5");
    expect(page.calls.map((c) => c.external_id)).toEqual(["7", "9"]);
    expect(page).toMatchObject({ cursor: "12", unreadable: 1, firstIssue: "calls[1].token_address: Invalid input: expected string, received undefined" });
  });

  it("an unreadable item is counted with the wire path of its field; a non-object too; the rest come through", () => {
    const page = readFeedAnswer({ calls: [null, item(1, { called_at: "last tuesday" }), item(2)], next_cursor: 2 }, config(), null);
    expect(page.calls).toHaveLength(1);
    expect(page.unreadable).toBe(2);
    expect(page.firstIssue).toBe("calls[0]: not an object");
  });

  it("a list where no item is readable (a renamed field) is a SchemaError, and so is an answer without the list", () => {
    const renamed = [1, 2, 3].map((id) => ({ id, chain: "solana", tokenAddress: MINT, called_at: "2026-11-01T00:00:00Z" }));
    expect(() => readFeedAnswer({ calls: renamed }, config(), null)).toThrow(SchemaError);
    expect(() => readFeedAnswer({ items: [] }, config(), null)).toThrow(/expected a list of calls at calls/);
  });

  it("a feed answering behind the cursor keeps the cursor, stops paging and says so", () => {
    const page = readFeedAnswer({ calls: [item(3), item(4)], next_cursor: "4", has_more: true }, config(), "10");
    expect(page).toMatchObject({ cursor: null, more: false, warning: "cursor went backwards: asked for items after 10, the feed answered next 4; kept 10" });
    expect(page.calls).toHaveLength(2);
    const timePage = readFeedAnswer({ calls: [], next_cursor: "2026-10-31T23:50:00Z" }, config({ cursor: "since_time" }), "2026-11-01T00:00:00.000Z");
    expect(timePage.warning).toMatch(/cursor went backwards/);
  });

  it("a cursor that stays put while the feed claims more stops paging with a warning instead of looping", () => {
    const page = readFeedAnswer({ calls: [item(4)], next_cursor: "4", has_more: true }, config(), "4");
    expect(page).toMatchObject({ cursor: null, more: false, warning: "cursor did not advance past 4 although the feed has more" });
  });

  it("ids compare as numbers, times as instants; opaque cursors are never called backwards", () => {
    expect(compareCursors("since_id", "10", "9")).toBe(1);
    expect(compareCursors("since_id", "00012", "12")).toBe(0);
    expect(compareCursors("since_id", "abc", "xyz")).toBeNull();
    expect(compareCursors("since_time", "2026-11-01T01:00:00+01:00", "2026-11-01T00:00:00Z")).toBe(0);
    expect(readFeedAnswer({ calls: [item(1)], next_cursor: "abc" }, config(), "xyz").cursor).toBe("abc");
  });
});

describe("http_feed reads", () => {
  it("sends the bearer token from the variable named in config, and never without one configured", async () => {
    const fetch = stubFetch(() => jsonResponse({ calls: [item(1)], next_cursor: "1", has_more: false }));
    const reader = createHttpFeedReader(source({ tokenEnv: "PEAKWATCH_FEED_TOKEN_ALPHA" }), {
      bearer: envBearerSource((name) => (name === "PEAKWATCH_FEED_TOKEN_ALPHA" ? "s3cret-token" : undefined)),
      fetch,
    });
    const page = await reader.readPage("0", signal);
    expect(page).toMatchObject({ cursor: "1", more: false });
    expect(fetch.urls).toEqual(["https://calls.example/api/feed?since_id=0&limit=100"]);
    expect(new Headers(fetch.inits[0]!.headers).get("authorization")).toBe("Bearer s3cret-token");

    const open = stubFetch(() => jsonResponse({ calls: [] }));
    await createHttpFeedReader(source({}), { bearer: envBearerSource(() => "ignored"), fetch: open }).readPage(null, signal);
    expect(new Headers(open.inits[0]!.headers).has("authorization")).toBe(false);
  });

  it("a named token variable that is not set is a config error naming it, and nothing is fetched", async () => {
    const fetch = stubFetch(() => jsonResponse({ calls: [] }));
    const reader = createHttpFeedReader(source({ tokenEnv: "PEAKWATCH_FEED_TOKEN_ALPHA" }), { bearer: envBearerSource(() => undefined), fetch });
    await expect(reader.readPage(null, signal)).rejects.toThrow("PEAKWATCH_FEED_TOKEN_ALPHA is not set (bearer token of source alpha-feed)");
    expect(fetch.urls).toEqual([]);
  });

  it("a 401 asks the bearer source once for a renewed token; a static token is not sent twice", async () => {
    let calls = 0;
    const fetch = stubFetch(() => (++calls === 1 ? new Response("no", { status: 401 }) : jsonResponse({ calls: [] })));
    const renewing: BearerSource = { token: async (_auth, options) => (options?.refresh ? "fresh" : "stale") };
    await createHttpFeedReader(source({ tokenEnv: "PEAKWATCH_FEED_TOKEN_ALPHA" }), { bearer: renewing, fetch }).readPage(null, signal);
    expect(fetch.inits.map((init) => new Headers(init.headers).get("authorization"))).toEqual(["Bearer stale", "Bearer fresh"]);

    const refused = stubFetch(() => new Response("no", { status: 401 }));
    const reader = createHttpFeedReader(source({ tokenEnv: "PEAKWATCH_FEED_TOKEN_ALPHA" }), { bearer: envBearerSource(() => "static"), fetch: refused });
    const error = await reader.readPage(null, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toBe("feed answered 401 to the token in PEAKWATCH_FEED_TOKEN_ALPHA");
    expect(refused.urls).toHaveLength(1);
  });
});
