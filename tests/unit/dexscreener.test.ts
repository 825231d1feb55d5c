import { describe, expect, it } from "vitest";
import {
  buildUrl,
  choosePair,
  createDexScreenerProvider,
  needsSingleRetry,
  parsePairs,
  quotesFromPairs,
} from "../../supabase/functions/_shared/providers/dexscreener.ts";
import { type AddressOutcome, RateLimitedError, SchemaError } from "../../supabase/functions/_shared/providers/types.ts";
import { fixtureItems, type JsonObject, jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const WSOL = "So11111111111111111111111111111111111111112";
const USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const MILF = "6xzcGi7rMd12UPD5PJSMnkTgquBZFYhhMz9D5iHgzB1w";
const BABY_DOJO = "inj19dtllzcquads0hu3ykda9m58llupksqwekkfnw";

const wsolUsdc = () => fixtureItems("dexscreener/tokens-v1-solana-wsol.json");
const wsolUsdt = () => fixtureItems("dexscreener/latest-dex-tokens-solana-wsol.json");
const milfSol = () => fixtureItems("dexscreener/pairs-solana-milf.json");
const babyDojo = () => fixtureItems("dexscreener/latest-dex-tokens-injective-babydojo.json");

function price(items: unknown[], chain: string, address: string): AddressOutcome {
  return choosePair(parsePairs(items).pairs, chain, address);
}

function priced(outcome: AddressOutcome) {
  if (outcome.outcome !== "priced") throw new Error(`expected a quote, got missing (${outcome.reason})`);
  return outcome.quote;
}

function first(items: JsonObject[]): JsonObject {
  const item = items[0];
  if (!item) throw new Error("fixture is empty");
  return item;
}

describe("dexscreener: recorded answers", () => {
  it("reads the recorded tokens/v1 answer with no parse failures", () => {
    const parsed = parsePairs(loadFixture("dexscreener/tokens-v1-solana-wsol.json"));
    expect(parsed).toMatchObject({ parseFailures: 0, itemCount: 1 });
    expect(parsed.pairs[0]?.pairAddress).toBe("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2");
  });

  it("prices the base token from its pair and leaves market cap unknown when the answer has neither marketCap nor fdv", () => {
    expect(priced(price(wsolUsdc(), "solana", WSOL))).toEqual({
      address: WSOL,
      priceUsd: 100.17,
      marketCapUsd: null,
      liquidityUsd: 14247194.46,
      pairAddress: "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
      dexId: "raydium",
      symbol: "SOL",
      name: "Wrapped SOL",
      source: "dexscreener",
    });
  });

  it("prices a token that is only the quote token as priceUsd / priceNative, with no market cap", () => {
    const usdc = priced(price(wsolUsdc(), "solana", USDC));
    expect(usdc.priceUsd).toBeCloseTo(100.17 / 100.1749, 10);
    expect(usdc).toMatchObject({ symbol: "USDC", name: "USD Coin", marketCapUsd: null, liquidityUsd: 14247194.46 });
  });

  it("inverts a memecoin pair into a plausible SOL price", () => {
    expect(priced(price(milfSol(), "solana", WSOL)).priceUsd).toBeCloseTo(0.000147 / 0.00000102, 6);
  });

  it("uses marketCap when present and falls back to fdv when marketCap is missing", () => {
    expect(priced(price(milfSol(), "solana", MILF)).marketCapUsd).toBe(147018);
    const { marketCap: _dropped, ...withoutMarketCap } = first(milfSol());
    expect(priced(price([{ ...withoutMarketCap, fdv: 150000 }], "solana", MILF)).marketCapUsd).toBe(150000);
  });

  it("picks the deepest pair when the token trades in several", () => {
    expect(priced(price(babyDojo(), "injective", BABY_DOJO))).toMatchObject({
      pairAddress: "inj17ufy5gqw33t0prwhkwa6ensv0jpj3xfvylgx8j",
      liquidityUsd: 879284.45,
      priceUsd: 0.004531,
    });
    expect(priced(price([...wsolUsdt(), ...wsolUsdc()], "solana", WSOL)).pairAddress).toBe("58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2");
  });

  it("prefers a pair where the token is base over a deeper pair where it is quote", () => {
    const deepMilf = { ...first(milfSol()), liquidity: { usd: 5e9 } };
    expect(priced(price([deepMilf, ...wsolUsdt()], "solana", WSOL)).pairAddress).toBe("3nMFwZXwY1s1M5s8vYAHqd4wGs4iSxXE4LRoUMMYqEgF");
  });

  it("matches 0x addresses case-insensitively but base58 addresses exactly", () => {
    const checksummed = "0x940181a94A35A4569E4529A3CDfB74e38FD98631";
    const evmPair = { ...first(milfSol()), chainId: "base", baseToken: { address: checksummed, name: "Aerodrome", symbol: "AERO" } };
    expect(price([evmPair], "base", checksummed.toLowerCase())).toMatchObject({ outcome: "priced", address: checksummed.toLowerCase() });
    expect(price(milfSol(), "solana", MILF.toLowerCase())).toEqual({ address: MILF.toLowerCase(), outcome: "missing", reason: "not_in_response" });
  });

  it("ignores pairs that belong to another chain", () => {
    expect(price(wsolUsdc(), "ethereum", WSOL)).toMatchObject({ outcome: "missing", reason: "not_in_response" });
  });
});

describe("dexscreener: unknown is not zero", () => {
  const milf = (overrides: JsonObject) => [{ ...first(milfSol()), ...overrides }];
  const CURVE = "9BB6NFEcjBCtnNLFko2FqVQBq8HHM13kCyYcdQbgpump";
  const GRADUATED = "7Hq2TmZ3rJgXq1VwKp6Ynd4bPzWfE8uLcR5sAaD2pump";
  const curve = () => fixtureItems("dexscreener/tokens-v1-solana-pumpfun-curve.json");
  const migrated = () => fixtureItems("dexscreener/tokens-v1-solana-pumpswap-migrated.json");

  it("prices a bonding-curve pair that has no liquidity object, with liquidity unknown", () => {
    expect(priced(price(curve(), "solana", CURVE))).toMatchObject({ priceUsd: 0.000004668, liquidityUsd: null, dexId: "pumpfun", marketCapUsd: 4668 });
  });

  it("ranks a pair with known depth above a pair with no liquidity figure", () => {
    const { liquidity: _dropped, ...noLiquidity } = first(milfSol());
    const shallow = { ...first(milfSol()), pairAddress: "shallow", priceUsd: "0.0002", liquidity: { usd: 500 } };
    expect(priced(price([{ ...noLiquidity, pairAddress: "curve" }, shallow], "solana", MILF))).toMatchObject({ pairAddress: "shallow", liquidityUsd: 500 });
  });

  it("takes the token's liquidity as the most any of its pairs holds: a closed curve at 0 beside a live pool", () => {
    expect(priced(price(migrated(), "solana", GRADUATED))).toMatchObject({
      dexId: "pumpswap",
      priceUsd: 0.0001481,
      liquidityUsd: 39820.17,
    });
    const [closed, pool] = migrated();
    const shallowPool = { ...pool!, liquidity: { usd: 10 } };
    // the closed curve is deeper than nothing only on paper: it never prices the token
    expect(priced(price([closed!, shallowPool], "solana", GRADUATED))).toMatchObject({ dexId: "pumpswap", liquidityUsd: 10 });
  });

  it("prices from a closed curve alone with liquidity 0 (the tracker reads that as below the floor)", () => {
    expect(priced(price([migrated()[0]!], "solana", GRADUATED))).toMatchObject({ dexId: "pumpfun", liquidityUsd: 0 });
  });

  it("drops an absurd market cap (above 1e13, or above 1,000x fdv) and keeps the price", () => {
    const huge = priced(price(milf({ marketCap: 2e13, fdv: null }), "solana", MILF));
    expect(huge).toMatchObject({ priceUsd: 0.000147, marketCapUsd: null, marketCapDropped: true });
    const vsFdv = priced(price(milf({ marketCap: 147018 * 5000, fdv: 147018 }), "solana", MILF));
    expect(vsFdv).toMatchObject({ priceUsd: 0.000147, marketCapUsd: null, marketCapDropped: true });
    expect(priced(price(milf({ marketCap: 147018 * 900, fdv: 147018 }), "solana", MILF)).marketCapUsd).toBe(147018 * 900);
    expect(priced(price(milf({ marketCap: null, fdv: 5e13 }), "solana", MILF))).toMatchObject({ marketCapUsd: null, marketCapDropped: true });
  });

  it("stores a market cap of 0 or below as unknown", () => {
    const quote = priced(price(milf({ marketCap: 0, fdv: -5 }), "solana", MILF));
    expect(quote.marketCapUsd).toBeNull();
    expect(quote.marketCapDropped).toBeUndefined();
  });

  it("prices a pair with priceUsd null from priceNative when the answer prices its quote token", () => {
    const nullUsd = { ...first(milfSol()), priceUsd: null };
    const solPriced = first(wsolUsdc()); // SOL at 100.17
    expect(priced(price([nullUsd, solPriced], "solana", MILF)).priceUsd).toBeCloseTo(0.00000102 * 100.17, 12);
    const otherSolPair = { ...first(migrated()), baseToken: { address: "Other111111111111111111111111111111111pump", name: "o", symbol: "O" } };
    // SOL priced as the quote of another pair: 0.0000603 / 0.000000402 = 150 USD
    expect(priced(price([nullUsd, otherSolPair], "solana", MILF)).priceUsd).toBeCloseTo(0.00000102 * 150, 12);
  });

  it("calls a listed token with no usable USD price unpriceable, not absent", () => {
    for (const priceUsd of [null, "0", "-1", "NaN", undefined, "1e-40"]) {
      expect(price(milf({ priceUsd }), "solana", MILF)).toMatchObject({ outcome: "missing", reason: "unpriceable" });
    }
  });

  it("makes every pair unpriceable when priceUsd is renamed (drift the yield reading catches)", () => {
    const renamed = milfSol().map(({ priceUsd, ...rest }) => ({ ...rest, price_usd: priceUsd }));
    const parsed = parsePairs(renamed);
    expect(parsed.parseFailures).toBe(0);
    expect(quotesFromPairs("solana", [MILF], parsed)).toEqual([{ address: MILF, outcome: "missing", reason: "unpriceable" }]);
  });

  it("falls back to a shallower sane pair when the deepest one is broken", () => {
    const broken = { ...first(milfSol()), pairAddress: "broken", liquidity: { usd: 1e7 }, priceUsd: "NaN", priceNative: "0" };
    expect(priced(price([broken, ...milfSol()], "solana", MILF))).toMatchObject({ pairAddress: "B7ycuYT8sVwb6wfxcBorCfqwQKDYH1MzsdUsMjgfky3x", liquidityUsd: 1e7 });
  });
});

describe("dexscreener: schema drift is counted, never silently stored", () => {
  it("counts a pair with a renamed field as a parse failure and still prices the others", () => {
    const { baseToken, ...renamed } = first(wsolUsdt());
    const parsed = parsePairs([{ ...renamed, base_token: baseToken }, ...milfSol()]);
    expect(parsed).toMatchObject({ parseFailures: 1, itemCount: 2 });
    expect(quotesFromPairs("solana", [MILF, WSOL], parsed).map((entry) => entry.outcome)).toEqual(["priced", "priced"]);
  });

  it("throws SchemaError with the count when every pair fails its schema", () => {
    const renamed = wsolUsdc().map(({ priceNative, ...rest }) => ({ ...rest, price_native: priceNative }));
    expect(() => parsePairs(renamed)).toThrow(SchemaError);
    expect(() => parsePairs(renamed)).toThrow(/all 1 pairs failed the schema \(priceNative/);
  });

  it("throws SchemaError for a payload that is not an array, like the older {schemaVersion, pairs} envelope", () => {
    expect(() => parsePairs(loadFixture("dexscreener/latest-dex-tokens-solana-wsol.json"))).toThrow(SchemaError);
  });

  it("treats an empty array as a valid answer in which nothing was found", () => {
    const parsed = parsePairs([]);
    expect(quotesFromPairs("solana", [WSOL], parsed)).toEqual([{ address: WSOL, outcome: "missing", reason: "not_in_response" }]);
  });
});

describe("dexscreener: answers cut at 30 pairs", () => {
  const pairsFor = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      ...first(milfSol()),
      pairAddress: `pair${i}`,
      baseToken: { address: `Token${i}Mint1111111111111111111111111111`, name: `T${i}`, symbol: `T${i}` },
    }));

  it("marks absent addresses as response_capped when the answer holds exactly 30 pairs, for a retry one by one", () => {
    const parsed = parsePairs(pairsFor(30));
    const results = quotesFromPairs("solana", ["Token0Mint1111111111111111111111111111", MILF], parsed);
    expect(results[1]).toEqual({ address: MILF, outcome: "missing", reason: "response_capped" });
    expect(needsSingleRetry({ results, parseFailures: 0, itemCount: 30, status: 200 })).toEqual([MILF]);
  });

  it("reports absent addresses as not_in_response when the answer is below the cap", () => {
    const results = quotesFromPairs("solana", ["Token0Mint1111111111111111111111111111", MILF], parsePairs(pairsFor(29)));
    expect(results[1]).toMatchObject({ reason: "not_in_response" });
    expect(needsSingleRetry({ results, parseFailures: 0, itemCount: 29, status: 200 })).toEqual([]);
  });

  it("an answer with more pairs than the cap was not cut: an absent address is not_in_response", () => {
    const results = quotesFromPairs("solana", ["Token0Mint1111111111111111111111111111", MILF], parsePairs(pairsFor(31)));
    expect(results[1]).toMatchObject({ reason: "not_in_response" });
  });

  it("does not ask to retry an address that was already asked for alone", () => {
    expect(quotesFromPairs("solana", [MILF], parsePairs(pairsFor(30)))[0]).toMatchObject({ reason: "not_in_response" });
  });
});

describe("dexscreener: provider", () => {
  it("builds the tokens/v1 URL from any base URL", () => {
    expect(buildUrl("http://127.0.0.1:1234/", "solana", [WSOL, USDC])).toBe(`http://127.0.0.1:1234/tokens/v1/solana/${WSOL},${USDC}`);
  });

  it("asks the configured base URL and answers per address in request order", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("dexscreener/tokens-v1-solana-wsol.json")));
    const provider = createDexScreenerProvider({ baseUrl: "http://stand-in.test", fetch });
    const result = await provider.fetchPrices("solana", [MILF, USDC, WSOL]);
    expect(fetch.urls).toEqual([`http://stand-in.test/tokens/v1/solana/${MILF},${USDC},${WSOL}`]);
    expect(result.status).toBe(200);
    expect(result.results.map((entry) => [entry.address, entry.outcome])).toEqual([
      [MILF, "missing"],
      [USDC, "priced"],
      [WSOL, "priced"],
    ]);
    expect(provider).toMatchObject({ name: "dexscreener", maxBatch: 30 });
  });

  it("turns a 429 into RateLimitedError carrying Retry-After", async () => {
    const fetch = stubFetch(() => new Response("error code: 1015", { status: 429, headers: { "retry-after": "7" } }));
    const error = await createDexScreenerProvider({ fetch }).fetchPrices("solana", [WSOL]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 7000 });
  });

  it("refuses more than 30 addresses before making a request", async () => {
    const fetch = stubFetch(() => jsonResponse([]));
    const many = Array.from({ length: 31 }, (_, i) => `Mint${i}`);
    await expect(createDexScreenerProvider({ fetch }).fetchPrices("solana", many)).rejects.toThrow(RangeError);
    expect(fetch.urls).toEqual([]);
  });
});
