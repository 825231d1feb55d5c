import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runTracker } from "../../supabase/functions/_shared/tracker/run-tracker.ts";
import type { TokenSpec } from "../../dev/market-sim/universe.ts";
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
afterEach(async () => {
  await fx.close();
});

const KINDS = ["steady", "steady", "curve", "graduated", "null_price", "absurd_cap", "poison", "never_listed"] as const;
const specs = (chain: string): TokenSpec[] => KINDS.map((kind) => ({ chain, kind }));

beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  fx = await trackerFixture({ tokens: { chains: ["solana"], perChain: 0, extra: specs("solana") } });
});

const run = (spareFallback = false) =>
  runTracker({
    sql: db.sql,
    worker: "truth-tracker",
    ...fx.lanes(),
    timeBudgetMs: 6_000,
    maxTokens: KINDS.length,
    signal: new AbortController().signal,
    settings: { idlePollMs: 100, reserveMs: 1_000, spareFallback },
  });

const rowsByKind = async () => {
  const rows = await db.sql<{ address: string; status: string; price_usd: number | null; market_cap_usd: number | null; liquidity_usd: number | null; dex_id: string | null; name: string | null; symbol: string | null }[]>`
    select address, status, price_usd, market_cap_usd, liquidity_usd, dex_id, name, symbol from peakwatch.tokens`;
  const kindOf = new Map(fx.sim.tokens().map((t) => [t.address, t.kind]));
  return new Map(rows.map((row) => [kindOf.get(row.address)!, row]));
};

async function makeDue() {
  await db.sql`update peakwatch.queue set due_at = now() - interval '1 second', claimed_by = null`;
}

describe("tracker loop: market truth against the simulator", () => {
  it("prices bonding-curve, graduated, null-price, absurd-cap and poison tokens right in one run; a never-listed token stays pending", async () => {
    const ids = await insertSimTokens(db.sql, fx.sim.tokens());
    expect(ids.size).toBe(KINDS.length);
    const stats = await run();
    expect(stats).toMatchObject({ failed: 0, poisonItems: 0, parseFailures: 0 });
    expect(stats.absurdMarketCaps).toBeGreaterThanOrEqual(1);

    const rows = await rowsByKind();
    for (const kind of ["steady", "curve", "graduated", "null_price", "absurd_cap", "poison"] as const) {
      expect(rows.get(kind)).toMatchObject({ status: "active" });
      expect(rows.get(kind)!.price_usd).toBeGreaterThan(0);
    }
    expect(rows.get("curve")).toMatchObject({ liquidity_usd: null, dex_id: "pumpfun" });
    // the live pool prices the graduated token, never the closed curve's frozen price
    expect(rows.get("graduated")!.dex_id).toBe("pumpswap");
    expect(rows.get("graduated")!.liquidity_usd).toBeGreaterThan(100);
    const graduated = fx.sim.tokens().find((t) => t.kind === "graduated")!;
    const truth = await (await fetch(`${fx.sim.url}/tokens/v1/solana/${graduated.address}`)).json() as Array<{ dexId: string; priceUsd: string }>;
    expect(rows.get("graduated")!.price_usd).toBeCloseTo(Number(truth.find((p) => p.dexId === "pumpswap")!.priceUsd), 12);
    expect(rows.get("absurd_cap")!.market_cap_usd ?? 0).toBeLessThan(1e13);
    expect(rows.get("poison")!.name).not.toMatch(/\u0000/);
    expect(rows.get("poison")!.name).toContain("\uFFFD");
    expect(rows.get("poison")!.market_cap_usd === null || rows.get("poison")!.market_cap_usd! > 0).toBe(true);
    expect(rows.get("never_listed")).toMatchObject({ status: "pending", price_usd: null });
  });

  it("a renamed optional field (priceUsd → price_usd) moves load to the fallback, marks nothing dead and collapses DexScreener's yield", async () => {
    await insertSimTokens(db.sql, fx.sim.tokens().filter((t) => t.kind === "steady" || t.kind === "curve"));
    const first = await run();
    expect(first.priced).toBe(3);
    expect(first.dexscreenerPricedKnown).toBe(0); // nothing was priced before the first run

    const fault = await fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ provider: "dexscreener", kind: "renamed_optional" }) });
    expect(fault.status).toBe(200);
    await makeDue();
    const second = await run();
    expect(second).toMatchObject({ parseFailures: 0, dexscreenerAskedKnown: 3, dexscreenerPricedKnown: 0 });
    expect(second.priced + second.unpriceable).toBe(3);
    expect(second.fallbackUsed).toBeGreaterThanOrEqual(1);
    const statuses = await db.sql<{ status: string; missing_checks: number }[]>`select status, missing_checks from peakwatch.tokens`;
    expect(statuses.every((row) => row.status === "active" && row.missing_checks === 0)).toBe(true);
  });

  it("uses both budgets: a chunk goes to GeckoTerminal first when it has a slot free now, DexScreener prices what it left", async () => {
    await insertSimTokens(db.sql, fx.sim.tokens());
    const stats = await run(true);
    expect(stats).toMatchObject({ spareUsed: 1, spareFailures: 0, failed: 0 });
    expect(stats.geckoterminalCalls).toBeGreaterThanOrEqual(1);
    // the curve token has no reserve on GeckoTerminal either, yet it is priced; the never-listed one stays pending
    const rows = await rowsByKind();
    expect(rows.get("curve")).toMatchObject({ status: "active" });
    expect(rows.get("never_listed")).toMatchObject({ status: "pending" });
  });
});
