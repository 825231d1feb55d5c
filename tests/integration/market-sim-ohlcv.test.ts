import { afterEach, describe, expect, it } from "vitest";
import { type MarketSimulator, startMarketSimulator } from "../../dev/market-sim/server.ts";
import type { SimToken } from "../../dev/market-sim/universe.ts";
import { createGeckoCandleProvider } from "../../supabase/functions/_shared/candles/geckoterminal.ts";
import type { BarPage, BarRequest } from "../../supabase/functions/_shared/candles/provider.ts";
import { createGeckoTerminalProvider, toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";

/** A fixed simulator clock, minute-aligned plus 20 s: nothing here depends on real time passing. */
const EPOCH = Date.UTC(2026, 11, 1, 12, 0, 20);
const MINUTE = 60_000;
const running: MarketSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function rig(now = () => EPOCH) {
  const sim = await startMarketSimulator({ seed: 7, now, limits: { geckoterminal: 10_000 } });
  running.push(sim);
  const candles = createGeckoCandleProvider({ baseUrl: sim.geckoterminalUrl, gate: { acquire: async () => true }, now: () => EPOCH + sim.elapsedMs() });
  const ask = async (token: SimToken, over: Partial<BarRequest>): Promise<BarPage> => {
    const [page] = await candles.fetchBars(
      [{ streamId: 1, symbol: token.pairs[0]!.pairAddress, network: toGeckoNetwork(token.chain), tokenSide: "base", timeframe: "1m", from: null, to: new Date(EPOCH + sim.elapsedMs() + MINUTE), limit: 100, ...over }],
      new AbortController().signal,
    );
    return page!;
  };
  const fault = (kind: string, rate = 1) =>
    fetch(`${sim.url}/__sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ provider: "geckoterminal", kind, rate }) });
  return { sim, ask, fault };
}

const steady = (sim: MarketSimulator) => sim.tokens().find((token) => token.chain === "solana" && token.kind === "steady")!;
const bars = (page: BarPage) => {
  if (!page.ok) throw new Error(`${page.kind}: ${page.message}`);
  return page.bars;
};

describe("market simulator: GeckoTerminal pool OHLCV", () => {
  it("candles and spot agree: the forming bar's close is the spot price, each open the previous close", async () => {
    let now = EPOCH;
    const { sim, ask } = await rig(() => now);
    const token = steady(sim);
    now += 7 * MINUTE + 5_000;
    const page = bars(await ask(token, { limit: 30 }));
    const [spot] = (await createGeckoTerminalProvider({ baseUrl: sim.geckoterminalUrl }).fetchPrices(token.chain, [token.address])).results;
    expect(spot?.outcome).toBe("priced");
    const forming = page.at(-1)!;
    expect(forming.bucket.getTime()).toBe(Math.floor(now / MINUTE) * MINUTE);
    expect(forming.close).toBeCloseTo(spot!.outcome === "priced" ? spot!.quote.priceUsd : Number.NaN, 12);
    for (let i = 1; i < page.length; i++) expect(page[i]!.open).toBe(page[i - 1]!.close);
  });

  it("history before the simulator is contiguous with include_empty_intervals, its quiet minutes synthetic", async () => {
    const { sim, ask } = await rig();
    const token = steady(sim);
    const to = new Date(EPOCH - 2 * 86_400_000);
    const page = bars(await ask(token, { to, limit: 1000 }));
    expect(page).toHaveLength(1000);
    for (let i = 1; i < page.length; i++) expect(page[i]!.bucket.getTime() - page[i - 1]!.bucket.getTime()).toBe(MINUTE);
    const synthetic = page.filter((bar) => bar.synthetic);
    expect(synthetic.length).toBeGreaterThan(0);
    for (const bar of synthetic) expect([bar.open, bar.high, bar.low, bar.volume]).toEqual([bar.close, bar.close, bar.close, 0]);
  });

  it("serves about 6 months: an older window is empty, a young pool ends at its creation", async () => {
    const { sim, ask } = await rig();
    const token = steady(sim);
    const page = await ask(token, { timeframe: "1d", to: new Date(EPOCH - 170 * 86_400_000), limit: 1000 });
    expect(page).toMatchObject({ ok: true, reachedStart: true });
    expect(bars(page).length).toBeLessThanOrEqual(11);
    const late = sim.tokens().find((candidate) => candidate.kind === "late")!;
    expect(bars(await ask(late, { timeframe: "15m" }))).toEqual([]);
  });

  it("takes faults: gaps leave bars out, a revised closed bar changes, drift renames the list, 429 and 5xx", async () => {
    const { sim, ask, fault } = await rig();
    const token = steady(sim);
    const to = new Date(EPOCH - 86_400_000);
    const clean = bars(await ask(token, { to, limit: 200 }));
    await fault("gaps");
    const holed = bars(await ask(token, { to, limit: 200 }));
    const holes = holed.filter((bar, i) => i > 0 && bar.bucket.getTime() - holed[i - 1]!.bucket.getTime() > MINUTE);
    expect(holes.length).toBeGreaterThan(10);
    await fault("revised_bar");
    const revised = bars(await ask(token, { to, limit: 200 }));
    const changed = revised.filter((bar, i) => bar.close !== clean[i]!.close);
    expect(changed.length).toBeGreaterThan(10);
    expect(changed.every((bar) => Math.floor(bar.bucket.getTime() / MINUTE) % 7 === 3)).toBe(true);
    await fault("renamed_field");
    expect(await ask(token, { to })).toMatchObject({ ok: false, kind: "schema_drift" });
    await fault("rate_limited");
    expect(await ask(token, { to })).toMatchObject({ ok: false, kind: "rate_limited" });
    await fault("5xx");
    expect(await ask(token, { to })).toMatchObject({ ok: false, kind: "upstream_5xx" });
    await fault("none");
    expect(await ask({ ...token, pairs: [{ ...token.pairs[0]!, pairAddress: "NoSuchPool111111111111111111111111111111111" }] }, {})).toMatchObject({ ok: false, kind: "not_found", coverage: "not_on_provider" });
  });
});
