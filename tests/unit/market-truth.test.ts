import { describe, expect, it } from "vitest";
import { sanitizeCalls } from "../../supabase/functions/_shared/calls/sanitize-calls.ts";
import { cleanText } from "../../supabase/functions/_shared/market/sanitize.ts";
import { saneMarketCap, verdictFor } from "../../supabase/functions/_shared/market/truth.ts";
import type { AddressOutcome } from "../../supabase/functions/_shared/providers/types.ts";
import { inMemoryPricedMemory, observeYield } from "../../supabase/functions/_shared/tracker/provider-yield.ts";
import { emptyStats } from "../../supabase/functions/_shared/tracker/stats.ts";
import { storableCheck } from "../../supabase/functions/_shared/tracker/storable-check.ts";

const missing = (reason: Extract<AddressOutcome, { outcome: "missing" }>["reason"]): AddressOutcome => ({ address: "A", outcome: "missing", reason });
const pricedAt = (address: string, price = 1): AddressOutcome => ({
  address,
  outcome: "priced",
  quote: { address, priceUsd: price, marketCapUsd: null, liquidityUsd: null, pairAddress: null, dexId: null, symbol: null, name: null, source: "dexscreener" },
});

describe("verdicts: listed but unpriceable is not absent", () => {
  it("a price from any provider wins", () => {
    expect(verdictFor([missing("unpriceable"), pricedAt("A")], 2).kind).toBe("priced");
  });
  it("listed anywhere is unpriceable (listed), whatever the other provider said", () => {
    expect(verdictFor([missing("unpriceable"), missing("not_in_response")], 2)).toEqual({ kind: "unpriceable", reason: "unpriceable", listed: true });
    expect(verdictFor([missing("bad_price")], 1)).toMatchObject({ kind: "unpriceable", listed: true });
  });
  it("absent only when every provider expected said so; otherwise not confirmed", () => {
    expect(verdictFor([missing("not_in_response"), missing("not_in_response")], 2)).toEqual({ kind: "absent" });
    expect(verdictFor([missing("not_in_response")], 1)).toEqual({ kind: "absent" });
    expect(verdictFor([missing("not_in_response")], 2)).toMatchObject({ kind: "unpriceable", listed: false });
  });
  it("a capped answer or no answer is unknown", () => {
    expect(verdictFor([missing("response_capped")], 2)).toEqual({ kind: "unknown" });
    expect(verdictFor([], 1)).toEqual({ kind: "unknown" });
  });
});

describe("market caps", () => {
  it("keeps a sane one, drops above 1e13 or above 1,000x fdv, falls back to a sane fdv, and reads <= 0 as unknown", () => {
    expect(saneMarketCap(5e6, 6e6)).toEqual({ value: 5e6, dropped: false });
    expect(saneMarketCap(2e13, null)).toEqual({ value: null, dropped: true });
    expect(saneMarketCap(1001e6, 1e6)).toEqual({ value: null, dropped: true });
    expect(saneMarketCap(null, 7e6)).toEqual({ value: 7e6, dropped: false });
    expect(saneMarketCap(null, 2e13)).toEqual({ value: null, dropped: true });
    expect(saneMarketCap(0, -1)).toEqual({ value: null, dropped: false });
  });
});

describe("sanitizing", () => {
  it("strips NUL and replaces unpaired surrogates, keeping paired ones", () => {
    expect(cleanText("a\u0000b")).toBe("ab");
    expect(cleanText("x\ud800y\udc00")).toBe("x\uFFFDy\uFFFD");
    expect(cleanText("rocket \ud83d\ude80")).toBe("rocket \ud83d\ude80");
    expect(cleanText("\u0000")).toBeNull();
    expect(JSON.parse(JSON.stringify(cleanText("\ud83d")))).toBe("\uFFFD");
  });

  it("a priced check keeps its price and loses what Postgres cannot hold; an overflowing price is poison", () => {
    const check = {
      token_id: 1, outcome: "priced" as const, price_usd: 2, market_cap_usd: -3, liquidity_usd: Number.NaN, pair_address: "P\u0000",
      dex_id: "d", symbol: "S\udfff", name: null, observed_at: new Date().toISOString(),
    };
    expect(storableCheck(check)).toEqual({ check: { ...check, market_cap_usd: null, liquidity_usd: null, pair_address: "P", symbol: "S\uFFFD" } });
    expect(storableCheck({ ...check, price_usd: 1e-40 })).toEqual({ poison: "price_usd: below 1e-30 USD (ROI would overflow)" });
    expect(storableCheck({ ...check, price_usd: Number.POSITIVE_INFINITY })).toMatchObject({ poison: expect.stringMatching(/not a positive finite/) });
  });

  it("feed calls: poison swapped for an empty placeholder with its reason, the rest cleaned in place", () => {
    const base = { external_id: "1", chain: "solana", address: "A", ticker: "T", group: null, called_at: new Date().toISOString(), entry_price_usd: null, entry_market_cap_usd: null };
    const { calls, poison } = sanitizeCalls([
      { ...base, ticker: "T\u0000" },
      { ...base, called_at: "0000-01-01T00:00:00.000Z" },
      { ...base, entry_price_usd: 1e-31 },
      { ...base, entry_market_cap_usd: -1 },
    ]);
    expect(calls).toEqual([{ ...base, ticker: "T" }, {}, {}, { ...base }]);
    expect([...poison]).toEqual([[1, "called_at: before 2010"], [2, "entry_price_usd: below 1e-30 USD (ROI would overflow)"]]);
  });
});

describe("provider yield", () => {
  it("counts only addresses the provider priced before, leaves cut ones out, and counts dropped market caps", async () => {
    const memory = inMemoryPricedMemory();
    const stats = emptyStats();
    const result = (outcomes: AddressOutcome[]) => ({ results: outcomes, parseFailures: 0, itemCount: outcomes.length, status: 200 });
    await observeYield(memory, "dexscreener", "solana", ["A", "B", "C"], result([pricedAt("A"), pricedAt("B"), { address: "C", outcome: "missing", reason: "not_in_response" }]), stats);
    expect(stats).toMatchObject({ dexscreenerAskedKnown: 0, dexscreenerPricedKnown: 0 });

    const dropped = pricedAt("B");
    if (dropped.outcome === "priced") dropped.quote.marketCapDropped = true;
    await observeYield(memory, "dexscreener", "solana", ["A", "B", "C", "D"], result([
      { address: "A", outcome: "missing", reason: "unpriceable" },
      dropped,
      { address: "C", outcome: "missing", reason: "not_in_response" },
      { address: "D", outcome: "missing", reason: "response_capped" },
    ]), stats);
    // C was never priced: it does not lower the yield; D was cut off: not counted
    expect(stats).toMatchObject({ dexscreenerAskedKnown: 2, dexscreenerPricedKnown: 1, absurdMarketCaps: 1, geckoterminalAskedKnown: 0 });
  });
});
