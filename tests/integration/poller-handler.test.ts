import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPollerHandler, type PollerDeps } from "../../supabase/functions/_shared/poller/handler.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, EPOCH, evmAddress, pollerFixture, type PollerFixture, solanaMint } from "../helpers/poller.ts";

const KEY = "test-service-key-0123456789abcdef";
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
  await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.source_counters, peakwatch.copycat_tokens, peakwatch.runs cascade`;
  await db.sql`delete from peakwatch.sources where kind <> 'manual'`;
  await fetch(`${fx.sim.url}/__sim/reset`, { method: "POST" });
});

const handler = createPollerHandler((): PollerDeps => ({
  sql: db.sql,
  keys: [KEY],
  sources: () => fx.deps(),
  settings: { retry: { retries: 0, baseMs: 10, capMs: 10 } },
}));

const post = (body: unknown) =>
  handler(new Request("http://localhost/poller", {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }));

const calledAt = new Date(Date.now() - 120_000).toISOString();
const posted = (n: number, extra: Record<string, unknown> = {}) => ({
  source: "manual",
  external_id: `tg-${n}`,
  chain: "solana",
  address: solanaMint(n),
  ticker: `$T${n}`,
  called_at: calledAt,
  ...extra,
});

async function stored() {
  const [row] = await db.sql<{ calls: number; tokens: number; runs: number }[]>`
    select (select count(*) from peakwatch.calls)::int as calls, (select count(*) from peakwatch.tokens)::int as tokens,
           (select count(*) from peakwatch.runs)::int as runs`;
  return row!;
}

describe("poller endpoint: calls posted by hand", () => {
  it("ingests a batch, answers per-source counts and records them in runs", async () => {
    await addSource(db.sql, { name: "bot-alpha", kind: "manual" });
    const response = await post({ calls: [posted(1), posted(2), posted(3, { source: "bot-alpha", group: "alpha", entry_price_usd: 0.01 })], trigger: "test" });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      outcome: "ok",
      totals: { fetched: 3, newCalls: 3, newTokens: 3, duplicates: 0, rejected: 0 },
      sources: [
        { source: "manual", outcome: "ok", counts: { fetched: 2, newCalls: 2, newTokens: 2 } },
        { source: "bot-alpha", outcome: "ok", counts: { fetched: 1, newCalls: 1, newTokens: 1 } },
      ],
      rejected: [],
    });
    const [run] = await db.sql`select function_name, trigger, outcome, counts from peakwatch.runs where id = ${body.runId}`;
    expect(run).toMatchObject({
      function_name: "poller", trigger: "test", outcome: "ok",
      counts: { sources: 2, newCalls: 3, "manual/newCalls": 2, "bot-alpha/newCalls": 1, "bot-alpha/duplicates": 0 },
    });
    const [row] = await db.sql`select ticker, group_name, entry_price_usd from peakwatch.calls where external_id = 'tg-3'`;
    expect(row).toEqual({ ticker: "T3", group_name: "alpha", entry_price_usd: 0.01 });
  });

  it("re-posting the same batch is a no-op: all duplicates, nothing changes", async () => {
    const batch = { calls: [posted(1), posted(2, { chain: "ethereum", address: evmAddress(2).replace("0x", "0X") })] };
    await post(batch);
    const before = await db.sql`select * from peakwatch.calls order by id`;
    const tokensBefore = await db.sql`select * from peakwatch.tokens order by id`;
    const again = await (await post(batch)).json();
    expect(again).toMatchObject({ outcome: "ok", totals: { newCalls: 0, newTokens: 0, duplicates: 2, rejected: 0 } });
    expect(await db.sql`select * from peakwatch.calls order by id`).toEqual(before);
    expect(await db.sql`select * from peakwatch.tokens order by id`).toEqual(tokensBefore);
  });

  it("a call with a bad address is rejected with its path and reason; the rest of the batch goes in", async () => {
    const response = await post({ calls: [posted(1), posted(2, { chain: "base", address: "0x12345" }), posted(3)] });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      outcome: "partial",
      totals: { newCalls: 2, rejected: 1 },
      rejected: [{ index: 1, path: "calls.1.address", reason: "address: not an EVM address (0x and 40 hex digits)" }],
    });
    expect(await stored()).toMatchObject({ calls: 2, tokens: 2 });
    const [run] = await db.sql`select outcome, counts->>'rejected' as rejected from peakwatch.runs`;
    expect(run).toEqual({ outcome: "partial", rejected: "1" });
  });

  it("a token that is already tracked shows its current values on the new call at once", async () => {
    const [token] = await db.sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address, status, price_usd, market_cap_usd, first_priced_at, last_priced_at)
      values ('solana', ${solanaMint(5)}, 'active', 0.5, 500000, now() - interval '1 hour', ${new Date(Date.parse(calledAt) - 60_000).toISOString()}) returning id`;
    await post({ calls: [posted(5)] });
    const [view] = await db.sql`select status, price_usd, market_cap_usd, entry_price_usd, entry_approximate from peakwatch.call_performance where external_id = 'tg-5'`;
    // observed a minute before the call, within the entry tolerance: the entry is exact
    expect(view).toEqual({ status: "active", price_usd: 0.5, market_cap_usd: 500000, entry_price_usd: 0.5, entry_approximate: false });
    const [queued] = await db.sql`select due_at <= now() as due from peakwatch.queue where token_id = ${token!.id}`;
    expect(queued!.due).toBe(true);
  });

  it.each([
    [{ calls: [posted(1, { called_at: "yesterday" })] }, "calls.0.called_at"],
    [{ calls: [posted(1, { chain: "Not A Chain" })] }, "calls.0.chain"],
    [{ calls: [posted(1, { external_id: "" })] }, "calls.0.external_id"],
    [{ calls: [posted(1), posted(2, { entry_price_usd: -1 })] }, "calls.1.entry_price_usd"],
    [{ calls: [posted(1, { adress: "typo" })] }, "calls.0"],
    [{ calls: [{ ...posted(1), ticker: undefined }] }, "calls.0.ticker"],
    [{ calls: [posted(1, { called_at: "2026-02-30T00:00:00Z" })] }, "calls.0.called_at"],
    [{ calls: [] }, "calls"],
    [{ calls: "not a list" }, "calls"],
    [{ source: "manual", calls: [posted(1)] }, "calls"],
    [{ surprise: true }, "(body)"],
  ])("a malformed body %j gets 400 naming %s, and nothing is stored or run", async (body, path) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe("bad_request");
    expect(error.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    expect(await stored()).toEqual({ calls: 0, tokens: 0, runs: 0 });
  });

  it("more than 1,000 calls are refused whole with 413 and a clear message", async () => {
    const calls = Array.from({ length: 1_001 }, (_, i) => posted(i));
    const response = await post({ calls });
    expect(response.status).toBe(413);
    const { error } = await response.json();
    expect(error.message).toBe("at most 1000 calls per request, got 1001; nothing was ingested — split the batch");
    expect(await stored()).toEqual({ calls: 0, tokens: 0, runs: 0 });
    expect((await post({ calls: calls.slice(0, 1_000) })).status).toBe(200);
  });

  it("a call naming an unknown source gets 404 and nothing of the batch is stored", async () => {
    const response = await post({ calls: [posted(1), posted(2, { source: "no-such-bot" })] });
    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toBe("unknown source no-such-bot; nothing was ingested");
    expect(await stored()).toEqual({ calls: 0, tokens: 0, runs: 0 });
  });
});

describe("poller endpoint: polling", () => {
  const feedCall = (i: number) => {
    const token = fx.sim.tokens().filter((t) => t.kind === "steady")[i % 4]!;
    return { chain: token.chain, token_address: token.address, symbol: token.symbol, called_at: new Date(EPOCH).toISOString() };
  };

  it("without a body it polls every enabled source that is due, and only those", async () => {
    fx.sim.addFeedCalls([feedCall(0), feedCall(1)]);
    await addSource(db.sql, { name: "due-feed", kind: "http_feed", config: { url: fx.sim.feedUrl } });
    await addSource(db.sql, { name: "off-feed", kind: "http_feed", enabled: false, config: { url: fx.sim.feedUrl } });
    const later = await addSource(db.sql, { name: "later-feed", kind: "http_feed", config: { url: fx.sim.feedUrl } });
    await db.sql`update peakwatch.sources set next_poll_at = now() + interval '1 minute' where id = ${later}`;
    const response = await post("");
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "ok", totals: { newCalls: 2 }, sources: [{ source: "due-feed", kind: "http_feed", outcome: "ok" }] });
    expect(body.sources).toHaveLength(1);
    const second = await (await post({})).json();
    expect(second.sources).toEqual([]);
  });

  it("{source} polls that source now, due or not, and records the run with its counts and errors", async () => {
    fx.sim.addFeedCalls([feedCall(0)]);
    await addSource(db.sql, { name: "broken", kind: "http_feed", config: { url: fx.sim.feedUrl, fields: { address: "nope" } } });
    await db.sql`update peakwatch.sources set next_poll_at = now() + interval '1 hour'`;
    const response = await post({ source: "broken", trigger: "test" });
    const body = await response.json();
    expect(body).toMatchObject({ outcome: "partial", sources: [{ source: "broken", outcome: "error", counts: { rejected: 1, errors: 1 } }] });
    expect(body.sources[0].error).toMatch(/all 1 items failed the schema \(calls\[0\]\.nope/);
    const [run] = await db.sql`select outcome, counts from peakwatch.runs where id = ${body.runId}`;
    expect(run).toMatchObject({ outcome: "partial", counts: { errors: 1, "broken/errors": 1, "broken/rejected": 1 } });
    const [source] = await db.sql`select last_error from peakwatch.sources where name = 'broken'`;
    expect(source!.last_error).toBe(body.sources[0].error);
  });

  it("a source whose config does not fit its kind is a counted error in last_error, not a crash", async () => {
    await addSource(db.sql, { name: "misconfigured", kind: "http_feed", config: { url: "not a url" } });
    const body = await (await post({ source: "misconfigured" })).json();
    expect(body.sources[0]).toMatchObject({ outcome: "error", counts: { errors: 1 } });
    expect(body.sources[0].error).toMatch(/^SourceConfigError: config of http_feed source misconfigured: url: /);
  });

  it("an unknown source name gets 404; a manual source has nothing to poll (400)", async () => {
    const unknown = await post({ source: "no-such-source" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.message).toBe("no source named no-such-source");
    const manual = await post({ source: "manual" });
    expect(manual.status).toBe(400);
    expect(await stored()).toMatchObject({ runs: 0 });
  });

  it("with async it answers 202 at once and finishes the run in the background", async () => {
    fx.sim.addFeedCalls([feedCall(0)]);
    await addSource(db.sql, { name: "feed", kind: "http_feed", config: { url: fx.sim.feedUrl } });
    const response = await post({ async: true });
    expect(response.status).toBe(202);
    const { runId, sources } = await response.json();
    expect(sources).toEqual(["feed"]);
    for (let i = 0; i < 50; i++) {
      const [run] = await db.sql<{ outcome: string }[]>`select outcome from peakwatch.runs where id = ${runId}`;
      if (run!.outcome !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [run] = await db.sql`select outcome, counts->>'newCalls' as new_calls from peakwatch.runs where id = ${runId}`;
    expect(run).toEqual({ outcome: "ok", new_calls: "1" });
  });

  it("a source not read within the time budget is deferred: counted in the run, left leased for the next one", async () => {
    fx.sim.addFeedCalls([feedCall(0)]);
    await addSource(db.sql, { name: "slow-feed", kind: "http_feed", config: { url: fx.sim.feedUrl, timeoutMs: 20_000 } });
    await fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ provider: "feed", kind: "timeout" }) });
    const started = Date.now();
    const body = await (await post({ timeBudgetMs: 2_000 })).json();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(body).toMatchObject({ outcome: "partial", sources: [{ source: "slow-feed", outcome: "deferred", error: null }] });
    const [run] = await db.sql`select outcome, counts->>'deferred' as deferred from peakwatch.runs where id = ${body.runId}`;
    expect(run).toEqual({ outcome: "partial", deferred: "1" });
    const [source] = await db.sql`select last_polled_at, next_poll_at > now() as leased from peakwatch.sources where name = 'slow-feed'`;
    expect(source).toEqual({ last_polled_at: null, leased: true });
  });

  it("a request without the service key gets 401 and nothing is polled", async () => {
    await addSource(db.sql, { name: "feed", kind: "http_feed", config: { url: fx.sim.feedUrl } });
    const response = await handler(new Request("http://localhost/poller", { method: "POST", body: "{}" }));
    expect(response.status).toBe(401);
    const [source] = await db.sql`select last_polled_at from peakwatch.sources where name = 'feed'`;
    expect(source!.last_polled_at).toBeNull();
  });
});
