import { afterEach, describe, expect, it } from "vitest";
import { type MarketSimulator, startMarketSimulator } from "../../dev/market-sim/server.ts";
import { createGeckoCandleProvider } from "../../supabase/functions/_shared/candles/geckoterminal.ts";
import type { Bar } from "../../supabase/functions/_shared/candles/provider.ts";
import { createGeckoTerminalProvider, toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";

/** A fixed simulator clock: nothing here depends on real time passing. */
const EPOCH = Date.UTC(2026, 11, 1, 12, 0, 0);
const MINUTE = 60_000;
const running: MarketSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

describe("market simulator: injected price events", () => {
  it("a one-trade wick shows in its minute's high only; a spike moves spot and candles alike", async () => {
    let now = EPOCH;
    const sim = await startMarketSimulator({ seed: 7, now: () => now, limits: { geckoterminal: 10_000 } });
    running.push(sim);
    const token = sim.tokens().find((t) => t.chain === "solana" && t.kind === "steady")!;
    const post = (body: unknown) => fetch(`${sim.url}/__sim/events`, { method: "POST", body: JSON.stringify(body) });
    const spot = async () => {
      const [result] = (await createGeckoTerminalProvider({ baseUrl: sim.geckoterminalUrl }).fetchPrices(token.chain, [token.address])).results;
      return result?.outcome === "priced" ? result.quote.priceUsd : Number.NaN;
    };
    const minuteBars = async (): Promise<Bar[]> => {
      const candles = createGeckoCandleProvider({ baseUrl: sim.geckoterminalUrl, gate: { acquire: async () => true }, now: () => now });
      const [page] = await candles.fetchBars(
        [{ streamId: 1, symbol: token.pairs[0]!.pairAddress, network: toGeckoNetwork(token.chain), tokenSide: "base", timeframe: "1m", from: null, to: new Date(now + MINUTE), limit: 30 }],
        new AbortController().signal,
      );
      if (!page?.ok) throw new Error("no bars");
      return page.bars;
    };

    now += 3 * MINUTE + 10_000;
    const before = await spot();
    expect((await post({ address: token.address, kind: "wick", factor: 3 })).status).toBe(200);
    now += 20_000;
    expect(await spot()).toBeLessThan(before * 1.5);
    const wickBar = (await minuteBars()).find((bar) => bar.bucket.getTime() === EPOCH + 3 * MINUTE)!;
    expect(wickBar.high).toBeCloseTo(before * 3, 9);
    expect(Math.max(wickBar.open, wickBar.close)).toBeLessThan(before * 1.5);

    now += MINUTE;
    expect((await post({ address: token.address, kind: "spike", factor: 2, durationMs: 2 * MINUTE })).status).toBe(200);
    const spiked = await spot();
    now += 30_000;
    const bars = await minuteBars();
    expect(bars.at(-1)!.close).toBeCloseTo(await spot(), 12);
    expect(spiked / before).toBeGreaterThan(1.5);
    expect((await post({ address: "nope", kind: "wick", factor: 3 })).status).toBe(404);
    expect((await post({ address: token.address, kind: "wick", factor: -1 })).status).toBe(400);
  });
});
