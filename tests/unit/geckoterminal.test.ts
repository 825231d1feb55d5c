import { describe, expect, it } from "vitest";
import {
  buildUrl,
  createGeckoTerminalProvider,
  GECKOTERMINAL_ACCEPT,
  parseTokens,
  quoteToken,
  toGeckoNetwork,
} from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { type AddressOutcome, SchemaError } from "../../supabase/functions/_shared/providers/types.ts";
import { fixtureItems, type JsonObject, jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2";
const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
const USDC_CHECKSUMMED = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";

const recorded = () => fixtureItems("geckoterminal/tokens-multi-eth.json");

function quoteOf(items: unknown[], address: string): AddressOutcome {
  const { tokens } = parseTokens({ data: items });
  return quoteToken(tokens.find((token) => token.attributes.address === address.toLowerCase()), "eth", address);
}

/** The recorded WETH resource with some attributes replaced. */
function weth(attributes: JsonObject): JsonObject {
  const [token] = recorded();
  if (!token) throw new Error("fixture is empty");
  return { ...token, attributes: { ...(token.attributes as JsonObject), ...attributes } };
}

describe("geckoterminal: recorded tokens/multi answer", () => {
  it("reads both recorded tokens with no parse failures, tolerating the null `included`", () => {
    expect(parseTokens(loadFixture("geckoterminal/tokens-multi-eth.json"))).toMatchObject({ parseFailures: 0, itemCount: 2 });
  });

  it("prices a token from price_usd, market_cap_usd and total_reserve_in_usd, naming its top pool", () => {
    expect(quoteOf(recorded(), WETH)).toEqual({
      address: WETH,
      outcome: "priced",
      quote: {
        address: WETH,
        priceUsd: 2116.8684142886,
        marketCapUsd: 4787815537.42098,
        liquidityUsd: 1023142859.3793833,
        pairAddress: "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",
        dexId: null,
        symbol: "WETH",
        name: "Wrapped Ether",
        source: "geckoterminal",
      },
    });
  });

  it("falls back to fdv_usd when market_cap_usd is null (an unverified token)", () => {
    const outcome = quoteOf([weth({ market_cap_usd: null })], WETH);
    expect(outcome).toMatchObject({ outcome: "priced", quote: { marketCapUsd: 4784909446.30437 } });
  });

  it("matches a checksummed request to GeckoTerminal's lower-case address and answers with the requested casing", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("geckoterminal/tokens-multi-eth.json")));
    const result = await createGeckoTerminalProvider({ fetch }).fetchPrices("ethereum", [USDC_CHECKSUMMED]);
    expect(result.results).toEqual([expect.objectContaining({ address: USDC_CHECKSUMMED, outcome: "priced" })]);
    expect(result.results[0]).toMatchObject({ quote: { address: USDC_CHECKSUMMED, priceUsd: 1.0002493634 } });
  });

  it("reports a token the answer does not hold as not_in_response", () => {
    expect(quoteOf(recorded(), "0x0000000000000000000000000000000000000001")).toMatchObject({
      outcome: "missing",
      reason: "not_in_response",
    });
  });
});

describe("geckoterminal: listed but unpriceable, unknown is not zero, absurd values dropped", () => {
  it("calls a listed token with a null, zero or NaN price unpriceable (bad_price)", () => {
    for (const price_usd of [null, "0", "NaN"]) {
      expect(quoteOf([weth({ price_usd })], WETH)).toMatchObject({ outcome: "missing", reason: "bad_price" });
    }
  });

  it("prices a token with a zero or missing reserve, carrying the reserve as known 0 or unknown", () => {
    expect(quoteOf([weth({ total_reserve_in_usd: "0.0" })], WETH)).toMatchObject({ outcome: "priced", quote: { liquidityUsd: 0 } });
    expect(quoteOf([weth({ total_reserve_in_usd: null })], WETH)).toMatchObject({ outcome: "priced", quote: { liquidityUsd: null } });
  });

  it("drops a market cap above 1e13 or above 1,000x fdv and keeps the price", () => {
    expect(quoteOf([weth({ market_cap_usd: "20000000000000" })], WETH)).toMatchObject({
      outcome: "priced",
      quote: { marketCapUsd: null, marketCapDropped: true, priceUsd: 2116.8684142886 },
    });
    expect(quoteOf([weth({ market_cap_usd: "5000000000", fdv_usd: "1000000" })], WETH)).toMatchObject({
      outcome: "priced",
      quote: { marketCapUsd: null, marketCapDropped: true },
    });
  });
});

describe("geckoterminal: schema drift is counted, never silently stored", () => {
  it("counts a token whose price field was renamed as a parse failure and still prices the other", () => {
    const [first, second] = recorded();
    const { price_usd, ...attributes } = first?.attributes as JsonObject;
    const parsed = parseTokens({ data: [{ ...first, attributes: { ...attributes, priceUsd: price_usd } }, second] });
    expect(parsed).toMatchObject({ parseFailures: 1, itemCount: 2 });
    expect(parsed.tokens.map((token) => token.attributes.symbol)).toEqual(["USDC"]);
  });

  it("throws SchemaError when every token fails its schema", () => {
    const renamed = recorded().map((token) => ({ ...token, type: "tokens" }));
    expect(() => parseTokens({ data: renamed })).toThrow(SchemaError);
  });

  it("throws SchemaError for a document without a data array, such as an error envelope", () => {
    expect(() => parseTokens({ errors: [{ status: "404", title: "Not Found" }] })).toThrow(SchemaError);
  });
});

describe("geckoterminal: networks and provider", () => {
  it("maps our chain ids to GeckoTerminal network ids", () => {
    const mapped = Object.fromEntries(
      ["ethereum", "polygon", "avalanche", "arbitrum", "bsc", "base", "solana", "optimism", "fantom"].map((chain) => [chain, toGeckoNetwork(chain)]),
    );
    expect(mapped).toEqual({
      ethereum: "eth",
      polygon: "polygon_pos",
      avalanche: "avax",
      arbitrum: "arbitrum",
      bsc: "bsc",
      base: "base",
      solana: "solana",
      optimism: "optimism",
      fantom: "ftm",
    });
  });

  it("knows no network for an unmapped chain rather than guessing one", () => {
    expect(toGeckoNetwork("made-up-chain")).toBeNull();
    expect(toGeckoNetwork("constructor")).toBeNull();
  });

  it("answers unsupported_chain for an unmapped chain without asking upstream", async () => {
    const fetch = stubFetch(() => jsonResponse({ data: [] }));
    const result = await createGeckoTerminalProvider({ fetch }).fetchPrices("made-up-chain", ["abc"]);
    expect(result.results).toEqual([{ address: "abc", outcome: "missing", reason: "unsupported_chain" }]);
    expect(fetch.urls).toEqual([]);
  });

  it("asks tokens/multi on the configured base URL with the versioned Accept header", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("geckoterminal/tokens-multi-eth.json")));
    const result = await createGeckoTerminalProvider({ baseUrl: "http://stand-in.test/api/v2/", fetch }).fetchPrices("ethereum", [WETH, USDC]);
    expect(fetch.urls).toEqual([`http://stand-in.test/api/v2/networks/eth/tokens/multi/${WETH},${USDC}`]);
    expect(new Headers(fetch.inits[0]?.headers).get("accept")).toBe(GECKOTERMINAL_ACCEPT);
    expect(result).toMatchObject({ status: 200, parseFailures: 0, itemCount: 2 });
    expect(buildUrl("http://x.test", "solana", ["a", "b"])).toBe("http://x.test/networks/solana/tokens/multi/a,b");
  });
});
