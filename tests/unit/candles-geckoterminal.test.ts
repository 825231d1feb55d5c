import { describe, expect, it } from "vitest";
import { createGeckoCandleProvider, GECKO_HISTORY_WINDOW_MS, ohlcvUrl, parseOhlcv } from "../../supabase/functions/_shared/candles/geckoterminal.ts";
import type { BarRequest } from "../../supabase/functions/_shared/candles/provider.ts";
import { jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const open = { acquire: async () => true };
const DAY = "geckoterminal/ohlcv-day-eth-weth-usdt.json";
const PADDED = "geckoterminal/ohlcv-minute-5-empty-intervals.json";

const request = (over: Partial<BarRequest> = {}): BarRequest => ({
  streamId: 1,
  symbol: "0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852",
  network: "eth",
  tokenSide: "base",
  timeframe: "1d",
  from: null,
  to: new Date(1712620800_000),
  limit: 1000,
  ...over,
});

describe("GeckoTerminal pool OHLCV", () => {
  it("parses the documented answer newest-first into bars oldest-first", () => {
    const { bars, rejected } = parseOhlcv(loadFixture(DAY), "1d");
    expect(rejected).toBe(0);
    expect(bars.map((bar) => bar.bucket.toISOString())).toEqual(["2024-04-07T00:00:00.000Z", "2024-04-08T00:00:00.000Z"]);
    expect(bars[1]).toMatchObject({ open: 3454.62, high: 3660.86, low: 3417.92, close: 3660.86, volume: 306823.28, synthetic: false });
  });

  it("a padded empty interval (volume 0, OHLC = previous close) is a synthetic bar", () => {
    const { bars } = parseOhlcv(loadFixture(PADDED), "5m");
    expect(bars.map((bar) => bar.synthetic)).toEqual([false, true, false]);
    expect(bars[1]!.open).toBe(bars[0]!.close);
  });

  it("a renamed list is schema drift; a bad row among good ones is a counted rejection", () => {
    const drifted = structuredClone(loadFixture(DAY)) as { data: { attributes: Record<string, unknown> } };
    drifted.data.attributes.ohlcv = drifted.data.attributes.ohlcv_list;
    delete drifted.data.attributes.ohlcv_list;
    expect(() => parseOhlcv(drifted, "1d")).toThrow(/data\.attributes\.ohlcv_list/);

    const mixed = structuredClone(loadFixture(DAY)) as { data: { attributes: { ohlcv_list: unknown[] } } };
    mixed.data.attributes.ohlcv_list.push(["1712361600", "1", "2", "0.5", "1.5", "9"], [1712361601, 1, 2, 0.5, 1.5, 9]);
    expect(parseOhlcv(mixed, "1d")).toMatchObject({ rejected: 2, rows: 4 });
  });

  it("asks with aggregate, before_timestamp, limit, currency, token and empty intervals; refuses 30m", () => {
    const url = new URL(ohlcvUrl("https://api.geckoterminal.com/api/v2/", request({ timeframe: "4h", tokenSide: "quote" }), 200));
    expect(url.pathname).toBe("/api/v2/networks/eth/pools/0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852/ohlcv/hour");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      aggregate: "4", before_timestamp: "1712620800", limit: "200", currency: "usd", token: "quote", include_empty_intervals: "true",
    });
    expect(createGeckoCandleProvider({ gate: open }).supports("30m")).toBe(false);
  });

  it("maps 404 to not_on_provider, 401 to provider_refused, 429 and 5xx to counted kinds", async () => {
    const cases: Array<[number, string, string | null]> = [[404, "not_found", "not_on_provider"], [401, "refused", "provider_refused"], [429, "rate_limited", null], [502, "upstream_5xx", null]];
    for (const [status, kind, coverage] of cases) {
      const provider = createGeckoCandleProvider({ gate: open, now: () => 1712620800_000, fetch: stubFetch(() => jsonResponse({ errors: [{ status: String(status) }] }, { status })) });
      const [page] = await provider.fetchBars([request()], new AbortController().signal);
      expect(page).toMatchObject({ ok: false, kind, coverage });
    }
  });

  it("spends no call on a window wholly beyond the provider's history, and says so", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture(DAY)));
    const now = 1712620800_000;
    const provider = createGeckoCandleProvider({ gate: open, fetch, now: () => now });
    const old = new Date(now - GECKO_HISTORY_WINDOW_MS - 86_400_000);
    const [page] = await provider.fetchBars([request({ to: old, from: new Date(old.getTime() - 10 * 86_400_000) })], new AbortController().signal);
    expect(page).toEqual({ ok: true, bars: [], reachedStart: true, coverage: "beyond_provider_window" });
    expect(fetch.urls).toHaveLength(0);
  });

  it("a page shorter than asked for reached the pool's start; no budget slot means no call", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture(DAY)));
    const provider = createGeckoCandleProvider({ gate: open, fetch, now: () => 1712620800_000 });
    const [page] = await provider.fetchBars([request({ from: new Date(1712620800_000 - 30 * 86_400_000) })], new AbortController().signal);
    expect(page).toMatchObject({ ok: true, reachedStart: true, coverage: null });
    expect(new URL(fetch.urls[0]!).searchParams.get("limit")).toBe("30");

    const shut = createGeckoCandleProvider({ gate: { acquire: async () => false }, fetch, now: () => 1712620800_000 });
    const [refused] = await shut.fetchBars([request()], new AbortController().signal);
    expect(refused).toMatchObject({ ok: false, kind: "budget" });
    expect(fetch.urls).toHaveLength(1);
  });
});
