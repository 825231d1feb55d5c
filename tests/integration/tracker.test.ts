import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runTracker } from "../../supabase/functions/_shared/tracker/run-tracker.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { insertSimTokens, trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

let db: TestDatabase;
let fx: TrackerFixture;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  fx = await trackerFixture();
});
afterEach(async () => {
  await fx.close();
});

const run = (overrides: Partial<Parameters<typeof runTracker>[0]> = {}) =>
  runTracker({
    sql: db.sql,
    worker: "test-tracker",
    ...fx.lanes(),
    timeBudgetMs: 6_000,
    signal: new AbortController().signal,
    settings: { idlePollMs: 100, reserveMs: 1_000, spareFallback: false },
    ...overrides,
  });

const tradingTokens = (fx: TrackerFixture) => fx.sim.tokens().filter((t) => t.kind !== "late" && t.kind !== "quote_only");

async function simFault(body: unknown) {
  const response = await fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function simStats(): Promise<Record<string, { requests: number; rateLimited: number; ok: number }>> {
  return (await (await fetch(`${fx.sim.url}/__sim/stats`)).json()).endpoints;
}

describe("tracker loop against the market simulator", () => {
  it("prices every claimed token in batches, one DexScreener request per chain chunk", async () => {
    const tokens = tradingTokens(fx);
    const ids = await insertSimTokens(db.sql, tokens);
    const stats = await run({ maxTokens: tokens.length });
    expect(stats).toMatchObject({ claimed: tokens.length, priced: tokens.length, failed: 0, parseFailures: 0, rateLimited: 0 });
    const chains = new Set(tokens.map((t) => t.chain)).size;
    expect(stats.dexscreenerCalls).toBe(chains);
    const rows = await db.sql<{ id: number; status: string; price_usd: number; liquidity_usd: number }[]>`
      select id, status, price_usd, liquidity_usd from peakwatch.tokens`;
    for (const row of rows) {
      expect(row.status).toBe("active");
      expect(row.price_usd).toBeGreaterThan(0);
    }
    expect(rows.map((r) => r.id).sort()).toEqual([...ids.values()].sort());
  });

  it("a token inserted while the tracker waits on an empty queue is priced in the same run", async () => {
    const [first, second] = tradingTokens(fx);
    const pending = run({ maxTokens: 2 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await insertSimTokens(db.sql, [first!]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await insertSimTokens(db.sql, [second!]);
    const stats = await pending;
    expect(stats).toMatchObject({ claimed: 2, priced: 2 });
  });

  it("a token listed later stays pending without a pair, then turns active once it trades", async () => {
    const late = fx.sim.tokens().find((t) => t.kind === "late")!;
    const ids = await insertSimTokens(db.sql, [late]);
    const id = ids.get(`${late.chain}:${late.address}`)!;
    expect(await run({ maxTokens: 1 })).toMatchObject({ claimed: 1, pending: 1, priced: 0 });
    const [before] = await db.sql`select status, price_usd from peakwatch.tokens where id = ${id}`;
    expect(before).toEqual({ status: "pending", price_usd: null });

    fx.sim.advance(late.listAtMs + 60_000);
    await db.sql`update peakwatch.queue set due_at = now() where token_id = ${id}`;
    expect(await run({ maxTokens: 1 })).toMatchObject({ claimed: 1, priced: 1 });
    const [after] = await db.sql<{ status: string; price_usd: number }[]>`select status, price_usd from peakwatch.tokens where id = ${id}`;
    expect(after!.status).toBe("active");
    expect(after!.price_usd).toBeGreaterThan(0);
  });

  it("a renamed upstream field is a counted parse failure, writes no data and, failing the whole batch alike, counts no attempt", async () => {
    await simFault({ provider: "dexscreener", kind: "renamed_field" });
    await simFault({ provider: "geckoterminal", kind: "renamed_field" });
    const tokens = tradingTokens(fx).slice(0, 5);
    await insertSimTokens(db.sql, tokens);
    const stats = await run({ maxTokens: 5 });
    expect(stats.parseFailures).toBeGreaterThan(0);
    expect(stats).toMatchObject({ claimed: 5, priced: 0, failed: 5 });
    expect(stats.providerFailures).toBe(5);
    const rows = await db.sql`select t.status, t.price_usd, q.attempts, q.last_error, q.last_failure_kind from peakwatch.tokens t join peakwatch.queue q on q.token_id = t.id`;
    for (const row of rows) {
      expect(row).toMatchObject({ status: "pending", price_usd: null, attempts: 0, last_failure_kind: "provider" });
      expect(row.last_error).toMatch(/SchemaError/);
    }
  });

  it("when DexScreener answers 5xx, GeckoTerminal prices the batch", async () => {
    await simFault({ provider: "dexscreener", kind: "5xx" });
    const tokens = tradingTokens(fx).filter((t) => t.chain === "solana").slice(0, 4);
    await insertSimTokens(db.sql, tokens);
    const stats = await run({ maxTokens: 4 });
    expect(stats).toMatchObject({ claimed: 4, priced: 4, failed: 0 });
    expect(stats.fallbackUsed).toBeGreaterThan(0);
    expect(stats.geckoterminalCalls).toBeGreaterThan(0);
  });

  it("tokens cut from a response capped at 30 pairs are asked for alone, not called missing", async () => {
    await simFault({ provider: "dexscreener", kind: "pair_cap_30" });
    const extra = Array.from({ length: 25 }, (_, i) => ({ chain: "solana", kind: "steady" as const, pairs: 3, symbol: `CAP${i}` }));
    const response = await fetch(`${fx.sim.url}/__sim/tokens`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tokens: extra }) });
    expect(response.status).toBe(201);
    const capTokens = fx.sim.tokens().filter((t) => t.symbol.startsWith("CAP"));
    await insertSimTokens(db.sql, capTokens);
    const stats = await run({ maxTokens: capTokens.length, settings: { batchSize: 30, idlePollMs: 100, reserveMs: 1_000, spareFallback: false } });
    expect(stats).toMatchObject({ claimed: 25, priced: 25, missing: 0, pending: 0 });
    expect(stats.dexscreenerCalls).toBeGreaterThan(1);
  });
});
