import { afterEach, describe, expect, it } from "vitest";
import { STEP_MS } from "../../dev/market-sim/market.ts";
import { type MarketSimulator, type MarketSimulatorOptions, startMarketSimulator } from "../../dev/market-sim/server.ts";
import type { SimToken, TokenKind } from "../../dev/market-sim/universe.ts";
import { createDexScreenerProvider, needsSingleRetry } from "../../supabase/functions/_shared/providers/dexscreener.ts";
import { createGeckoTerminalProvider } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import {
  type AddressOutcome,
  type PriceProvider,
  RateLimitedError,
  SchemaError,
  UpstreamError,
} from "../../supabase/functions/_shared/providers/types.ts";
import { fixtureItems } from "../helpers/fixtures.ts";

/** Simulated time only moves when a test advances it, so nothing here depends on real time passing. */
const EPOCH = Date.UTC(2025, 0, 1);

interface Rig {
  sim: MarketSimulator;
  dex: PriceProvider;
  gecko: PriceProvider;
}

const running: MarketSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function rig(options: MarketSimulatorOptions = {}, timeoutMs = 5_000): Promise<Rig> {
  const sim = await startMarketSimulator({ seed: 7, now: () => EPOCH, ...options });
  running.push(sim);
  // Only the base URL tells these providers they are not talking to the real hosts.
  return {
    sim,
    dex: createDexScreenerProvider({ baseUrl: sim.url, timeoutMs }),
    gecko: createGeckoTerminalProvider({ baseUrl: sim.geckoterminalUrl, timeoutMs }),
  };
}

function tokenOf(sim: MarketSimulator, kind: TokenKind, filter: (token: SimToken) => boolean = () => true): SimToken {
  const token = sim.tokens().find((candidate) => candidate.chain === "solana" && candidate.kind === kind && filter(candidate));
  if (!token) throw new Error(`no ${kind} token on solana in this universe`);
  return token;
}

async function priceOne(provider: PriceProvider, token: SimToken): Promise<AddressOutcome> {
  const [outcome] = (await provider.fetchPrices(token.chain, [token.address])).results;
  if (!outcome) throw new Error("no outcome");
  return outcome;
}

async function usd(provider: PriceProvider, token: SimToken): Promise<number> {
  const outcome = await priceOne(provider, token);
  if (outcome.outcome !== "priced") throw new Error(`${token.symbol} missing: ${outcome.reason}`);
  return outcome.quote.priceUsd;
}

function advanceTo(sim: MarketSimulator, elapsedMs: number): void {
  sim.advance(elapsedMs - sim.elapsedMs());
}

async function call(sim: MarketSimulator, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sim.url}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function setFault(sim: MarketSimulator, fault: { provider: string; kind: string; rate?: number }): Promise<void> {
  expect((await call(sim, "/__sim/faults", fault)).status).toBe(200);
}

type EndpointStats = Record<string, { requests: number; ok: number; rateLimited: number; faulted: number }>;

async function stats(sim: MarketSimulator): Promise<EndpointStats> {
  return ((await call(sim, "/__sim/stats")).body as { endpoints: EndpointStats }).endpoints;
}

/** Key sets and value types, recursively; null matches anything because real answers null many fields. */
function expectSameShape(actual: unknown, expected: unknown, path = "$"): void {
  if (actual === null || expected === null) return;
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    const [a, e] = [(actual as unknown[])[0], expected[0]];
    if (a !== undefined && e !== undefined) expectSameShape(a, e, `${path}[0]`);
    return;
  }
  if (typeof expected === "object") {
    expect(typeof actual, path).toBe("object");
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expectSameShape((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  expect(typeof actual, path).toBe(typeof expected);
}

describe("market simulator: a deterministic market", () => {
  it("builds the same universe and answers the same prices from the same seed, and others from another seed", async () => {
    const [a, b, other] = await Promise.all([rig(), rig(), rig({ seed: 8 })]);
    expect(a.sim.tokens()).toEqual(b.sim.tokens());
    expect(other.sim.tokens().map((token) => token.address)).not.toEqual(a.sim.tokens().map((token) => token.address));

    const addresses = a.sim.tokens().filter((token) => token.chain === "solana" && token.listAtMs === 0).map((token) => token.address);
    a.sim.advance(17 * 60_000);
    b.sim.advance(17 * 60_000);
    expect(await a.dex.fetchPrices("solana", addresses)).toEqual(await b.dex.fetchPrices("solana", addresses));
    expect(await a.gecko.fetchPrices("solana", addresses)).toEqual(await b.gecko.fetchPrices("solana", addresses));
  });

  it("moves prices only when simulated time moves", async () => {
    const { sim, gecko } = await rig();
    const token = tokenOf(sim, "steady");
    const before = await usd(gecko, token);
    expect(await usd(gecko, token)).toBe(before);
    sim.advance(10 * STEP_MS);
    expect(await usd(gecko, token)).not.toBe(before);
  });

  it("answers in the shapes of the recorded DexScreener and GeckoTerminal fixtures", async () => {
    const { sim } = await rig();
    const token = tokenOf(sim, "steady", (candidate) => candidate.reportsMarketCap);
    const [pair] = (await call(sim, `/tokens/v1/solana/${token.address}`)).body as unknown[];
    expectSameShape(pair, fixtureItems("dexscreener/pairs-solana-milf.json")[0]);
    const [profile] = (await call(sim, "/token-profiles/latest/v1")).body as unknown[];
    expectSameShape(profile, fixtureItems("dexscreener/token-profiles-latest-v1.json")[1]);
    const tokens = (await call(sim, `/api/v2/networks/solana/tokens/multi/${token.address}`)).body as { data: unknown[] };
    expectSameShape(tokens.data[0], fixtureItems("geckoterminal/tokens-multi-eth.json")[0]);
    const pools = (await call(sim, "/api/v2/networks/solana/trending_pools")).body as { data: unknown[] };
    expect(pools.data.length).toBeGreaterThan(0);
    expectSameShape(pools.data[0], fixtureItems("geckoterminal/new-pools-solana.json")[1]);
  });
});

describe("market simulator: market events seen through the providers", () => {
  it("keeps a late token pending on both providers until it lists, then prices it", async () => {
    const { sim, dex, gecko } = await rig();
    const late = tokenOf(sim, "late");
    expect(await priceOne(dex, late)).toMatchObject({ outcome: "missing", reason: "not_in_response" });
    expect(await priceOne(gecko, late)).toMatchObject({ outcome: "missing", reason: "not_in_response" });
    advanceTo(sim, late.listAtMs);
    expect(await priceOne(dex, late)).toMatchObject({ outcome: "priced" });
    expect(await priceOne(gecko, late)).toMatchObject({ outcome: "priced" });
  });

  it("prices a token that only ever appears as a quote token by inversion, agreeing with GeckoTerminal", async () => {
    const { sim, dex, gecko } = await rig();
    const token = tokenOf(sim, "quote_only");
    const [viaDex, viaGecko] = [await usd(dex, token), await usd(gecko, token)];
    expect(Math.abs(viaDex - viaGecko) / viaGecko).toBeLessThan(2e-3);
    expect(await priceOne(dex, token)).toMatchObject({ quote: { marketCapUsd: null } });
  });

  it("prices from the deepest of several pairs", async () => {
    const { sim, dex } = await rig();
    const token = tokenOf(sim, "steady", (candidate) => candidate.pairs.length > 1);
    const deepest = [...token.pairs].sort((a, b) => b.liquidityShare - a.liquidityShare)[0];
    expect(await priceOne(dex, token)).toMatchObject({ outcome: "priced", quote: { pairAddress: deepest?.pairAddress } });
  });

  it("multiplies a pumped token's price and crashes a rugged token's price and liquidity", async () => {
    const { sim, gecko } = await rig();
    const pump = tokenOf(sim, "pump");
    advanceTo(sim, (pump.eventAtMs ?? 0) - 1);
    const beforePump = await usd(gecko, pump);
    advanceTo(sim, (pump.eventAtMs ?? 0) + 4 * STEP_MS);
    expect((await usd(gecko, pump)) / beforePump).toBeGreaterThan(2);

    const rug = tokenOf(sim, "rug");
    advanceTo(sim, (rug.eventAtMs ?? 0) - 1);
    const beforeRug = await usd(gecko, rug);
    advanceTo(sim, rug.eventAtMs ?? 0);
    const after = await priceOne(gecko, rug);
    expect(after).toMatchObject({ outcome: "priced" });
    if (after.outcome !== "priced") return;
    expect(after.quote.priceUsd / beforeRug).toBeLessThan(0.01);
    expect(after.quote.liquidityUsd).toBeLessThan(5);
  });
});

describe("market simulator: rate limits", () => {
  it("answers 429 with Retry-After once an endpoint's budget is spent, and serves again in the next window", async () => {
    const { sim, dex, gecko } = await rig({ limits: { dexscreenerTokens: 2, geckoterminal: 1 } });
    const token = tokenOf(sim, "steady");
    await dex.fetchPrices("solana", [token.address]);
    await dex.fetchPrices("solana", [token.address]);
    const limited = await dex.fetchPrices("solana", [token.address]).catch((caught: unknown) => caught);
    expect(limited).toBeInstanceOf(RateLimitedError);
    const retryAfterMs = (limited as RateLimitedError).retryAfterMs ?? 0;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);

    await gecko.fetchPrices("solana", [token.address]);
    await expect(gecko.fetchPrices("solana", [token.address])).rejects.toBeInstanceOf(RateLimitedError);
    expect(await stats(sim)).toMatchObject({
      "dexscreener.tokens": { requests: 3, ok: 2, rateLimited: 1 },
      "geckoterminal.tokens_multi": { requests: 2, ok: 1, rateLimited: 1 },
    });

    sim.advance(retryAfterMs);
    await expect(dex.fetchPrices("solana", [token.address])).resolves.toMatchObject({ status: 200 });
  });

  it("refuses more than 30 addresses with 400, as the real APIs do", async () => {
    const { sim } = await rig();
    const many = Array.from({ length: 31 }, (_, i) => `Mint${i}`).join(",");
    expect((await call(sim, `/tokens/v1/solana/${many}`)).status).toBe(400);
    expect(await call(sim, `/api/v2/networks/solana/tokens/multi/${many}`)).toEqual({
      status: 400,
      body: { errors: [{ status: "400", title: "Exceeded maximum number of addresses" }] },
    });
  });
});

describe("market simulator: faults", () => {
  it("5xx surfaces as UpstreamError with the status on both providers", async () => {
    const { sim, dex, gecko } = await rig();
    const token = tokenOf(sim, "steady");
    await setFault(sim, { provider: "dexscreener", kind: "5xx" });
    await setFault(sim, { provider: "geckoterminal", kind: "5xx" });
    await expect(priceOne(dex, token)).rejects.toMatchObject({ name: "UpstreamError", status: 502 });
    await expect(priceOne(gecko, token)).rejects.toMatchObject({ name: "UpstreamError", status: 502 });
  });

  it("timeout surfaces as UpstreamError('timeout') once the provider stops waiting", async () => {
    const { sim, dex } = await rig({}, 200);
    await setFault(sim, { provider: "dexscreener", kind: "timeout" });
    const error = await priceOne(dex, tokenOf(sim, "steady")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ message: "timeout", status: null });
  });

  it("malformed JSON surfaces as SchemaError", async () => {
    const { sim, dex, gecko } = await rig();
    await setFault(sim, { provider: "dexscreener", kind: "malformed" });
    await setFault(sim, { provider: "geckoterminal", kind: "malformed" });
    await expect(priceOne(dex, tokenOf(sim, "steady"))).rejects.toBeInstanceOf(SchemaError);
    await expect(priceOne(gecko, tokenOf(sim, "steady"))).rejects.toBeInstanceOf(SchemaError);
  });

  it("a renamed field fails every item: SchemaError carrying the parse-failure count, and no quote", async () => {
    const { sim, dex, gecko } = await rig();
    const token = tokenOf(sim, "steady", (candidate) => candidate.pairs.length > 1);
    await setFault(sim, { provider: "dexscreener", kind: "renamed_field" });
    await setFault(sim, { provider: "geckoterminal", kind: "renamed_field" });
    await expect(priceOne(dex, token)).rejects.toMatchObject({ name: "SchemaError", parseFailures: token.pairs.length });
    await expect(priceOne(gecko, token)).rejects.toMatchObject({ name: "SchemaError", parseFailures: 1 });
  });

  it("pair_cap_30 cuts the answer at 30 pairs; the cut addresses price when asked alone", async () => {
    const { sim, dex } = await rig({ tokens: { chains: ["solana"], perChain: 40 } });
    const batch = sim.tokens().filter((token) => token.listAtMs === 0).slice(0, 30);
    expect(batch.reduce((sum, token) => sum + token.pairs.length, 0)).toBeGreaterThan(30);
    await setFault(sim, { provider: "dexscreener", kind: "pair_cap_30" });

    const result = await dex.fetchPrices("solana", batch.map((token) => token.address));
    expect(result.itemCount).toBe(30);
    const retry = needsSingleRetry(result);
    expect(retry.length).toBeGreaterThan(0);
    for (const address of retry) {
      expect((await dex.fetchPrices("solana", [address])).results[0]).toMatchObject({ outcome: "priced" });
    }
  });

  it("a fault with a rate below 1 hits some requests, and kind none clears it", async () => {
    const { sim, dex } = await rig();
    const token = tokenOf(sim, "steady");
    await setFault(sim, { provider: "dexscreener", kind: "5xx", rate: 0.5 });
    for (let i = 0; i < 20; i++) await dex.fetchPrices("solana", [token.address]).catch(() => undefined);
    const { faulted = 0, ok = 0 } = (await stats(sim))["dexscreener.tokens"] ?? {};
    expect(faulted).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    await setFault(sim, { provider: "dexscreener", kind: "none" });
    await expect(priceOne(dex, token)).resolves.toMatchObject({ outcome: "priced" });
  });

  it("rejects pair_cap_30 for GeckoTerminal, where it does not exist", async () => {
    const { sim } = await rig();
    expect((await call(sim, "/__sim/faults", { provider: "geckoterminal", kind: "pair_cap_30" })).status).toBe(400);
  });
});

describe("market simulator: admin", () => {
  it("adds tokens at runtime: at once, or pending until their listAtMs", async () => {
    const { sim, dex, gecko } = await rig();
    const added = await call(sim, "/__sim/tokens", {
      tokens: [
        { chain: "ethereum", symbol: "NOW", priceUsd: 0.5 },
        { chain: "solana", symbol: "SOON", listAtMs: 60_000 },
      ],
    });
    expect(added.status).toBe(201);
    const [now, soon] = (added.body as { tokens: SimToken[] }).tokens;
    if (!now || !soon) throw new Error("tokens were not created");
    expect(await usd(gecko, now)).toBeCloseTo(0.5, 6);
    expect(await priceOne(dex, soon)).toMatchObject({ outcome: "missing", reason: "not_in_response" });
    expect((await call(sim, "/__sim/clock", { advanceMs: 60_000 })).status).toBe(200);
    expect(await priceOne(dex, soon)).toMatchObject({ outcome: "priced", quote: { symbol: "SOON" } });
  });

  it("rejects a token on a chain the simulator does not model", async () => {
    const { sim } = await rig();
    expect((await call(sim, "/__sim/tokens", { tokens: [{ chain: "made-up-chain" }] })).status).toBe(400);
  });

  it("reset restores the seeded universe, clears faults and stats and restarts the clock", async () => {
    const { sim, dex } = await rig();
    const seeded = sim.tokens().length;
    await call(sim, "/__sim/tokens", { tokens: [{ chain: "base" }] });
    await setFault(sim, { provider: "dexscreener", kind: "5xx" });
    sim.advance(5 * 60_000);
    expect((await call(sim, "/__sim/reset", {})).status).toBe(200);
    expect(sim.tokens()).toHaveLength(seeded);
    expect(sim.elapsedMs()).toBe(0);
    expect(await stats(sim)).toEqual({});
    await expect(priceOne(dex, tokenOf(sim, "steady"))).resolves.toMatchObject({ outcome: "priced" });
  });
});
