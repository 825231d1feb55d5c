import { describe, expect, it } from "vitest";
import { SchemaError } from "../../supabase/functions/_shared/providers/types.ts";
import { createDexScreenerProfilesReader, profileTime } from "../../supabase/functions/_shared/sources/dexscreener-profiles.ts";
import { createGeckoTerminalTrendingReader } from "../../supabase/functions/_shared/sources/geckoterminal-trending.ts";
import { type Gate, type Source, SourceConfigError, ThrottledError } from "../../supabase/functions/_shared/sources/types.ts";
import { fixtureItems, jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const NOW = Date.UTC(2026, 10, 1, 12);
const open: Gate = { acquire: async () => true };
const shut: Gate = { acquire: async () => false };
const signal = new AbortController().signal;
const source = (kind: Source["kind"], config: Record<string, unknown> = {}): Source => ({ id: 1, name: "src", kind, config, cursor: null, pollIntervalSeconds: 60 });

describe("dexscreener_profiles", () => {
  const profiles = () => fixtureItems("dexscreener/token-profiles-latest-v1.json");

  it("turns each recorded profile into one call per token, timed by the profile's own timestamp", async () => {
    const fetch = stubFetch(() => jsonResponse(profiles()));
    const reader = createDexScreenerProfilesReader(source("dexscreener_profiles"), { baseUrl: "https://dex.example/", gate: open, fetch, now: () => NOW });
    const page = await reader.readPage(null, signal);
    expect(fetch.urls).toEqual(["https://dex.example/token-profiles/latest/v1"]);
    expect(page.calls).toEqual([
      expect.objectContaining({ external_id: "bsc:0x795d2710e383f33fbebe980a155b29757b6703f3", chain: "bsc", ticker: null }),
      expect.objectContaining({ external_id: "solana:ENK9rDXuLW4YsaA4ZyzHkPR9pBJpgY7Q416SfjGxDLfx", address: "ENK9rDXuLW4YsaA4ZyzHkPR9pBJpgY7Q416SfjGxDLfx" }),
      expect.objectContaining({ external_id: "solana:FeFKV9XUpUHFJTR1gXsQHWxo6eTghREGQpJtanr4pump" }),
    ]);
    expect(page.calls[0]!.called_at).toBe(new Date(1742991900000).toISOString());
    expect(page).toMatchObject({ cursor: null, more: false, unreadable: 0, skipped: 0 });
  });

  it("a profile stamped in the future or not stamped at all is timed now", () => {
    expect(profileTime({ chainId: "bsc", tokenAddress: "x", openGraph: `https://cdn/x?timestamp=${NOW + 3_600_000}` }, NOW)).toBe(new Date(NOW).toISOString());
    expect(profileTime({ chainId: "bsc", tokenAddress: "x" }, NOW)).toBe(new Date(NOW).toISOString());
  });

  it("keeps only the configured chains and counts the others as skipped", async () => {
    const reader = createDexScreenerProfilesReader(source("dexscreener_profiles", { chains: ["solana"] }), { gate: open, fetch: stubFetch(() => jsonResponse(profiles())) });
    const page = await reader.readPage(null, signal);
    expect(page.calls.map((c) => c.chain)).toEqual(["solana", "solana"]);
    expect(page.skipped).toBe(1);
  });

  it("a profile without its token address is unreadable and counted; all of them renamed is a SchemaError", async () => {
    const mixed = profiles();
    delete mixed[1]!.tokenAddress;
    const page = await createDexScreenerProfilesReader(source("dexscreener_profiles"), { gate: open, fetch: stubFetch(() => jsonResponse(mixed)) }).readPage(null, signal);
    expect(page).toMatchObject({ unreadable: 1, firstIssue: "[1].tokenAddress: Invalid input: expected string, received undefined" });
    const renamed = profiles().map(({ tokenAddress, ...rest }) => ({ ...rest, token_address: tokenAddress }));
    const reader = createDexScreenerProfilesReader(source("dexscreener_profiles"), { gate: open, fetch: stubFetch(() => jsonResponse(renamed)) });
    await expect(reader.readPage(null, signal)).rejects.toThrow(SchemaError);
  });

  it("without a slot of the shared 60/min quota it does not call DexScreener", async () => {
    const fetch = stubFetch(() => jsonResponse(profiles()));
    const reader = createDexScreenerProfilesReader(source("dexscreener_profiles"), { gate: shut, fetch });
    await expect(reader.readPage(null, signal)).rejects.toThrow(ThrottledError);
    expect(fetch.urls).toEqual([]);
  });
});

describe("geckoterminal_trending", () => {
  it("turns the recorded pools into calls of their base tokens, priced and named from the pool", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("geckoterminal/new-pools-solana.json")));
    const reader = createGeckoTerminalTrendingReader(source("geckoterminal_trending", { network: "solana", pages: 2 }), {
      baseUrl: "https://gecko.example/api/v2",
      gate: open,
      fetch,
      now: () => NOW,
    });
    const page = await reader.readPage(null, signal);
    expect(fetch.urls).toEqual(["https://gecko.example/api/v2/networks/solana/trending_pools?page=1"]);
    expect(new Headers(fetch.inits[0]!.headers).get("accept")).toBe("application/json;version=20230302");
    expect(page.calls.map(({ external_id, ticker, chain }) => ({ external_id, ticker, chain }))).toEqual([
      { external_id: "solana:huGbvMBsED85Z2P2S5bkiJkRbL7RSaqzd1iZ39qpump", ticker: "GREG", chain: "solana" },
      { external_id: "solana:9EVh2JwRdxfe8XwDLFp28LrL3QG3MrQTM4n1ZwFQH5bt", ticker: "WENLIST", chain: "solana" },
      { external_id: "solana:BcntQpxxifHzkXPh8cjJi6LHpi86j2MUYexfAH1ipump", ticker: "julie", chain: "solana" },
    ]);
    expect(page.calls[2]).toMatchObject({ entry_price_usd: 0.0000059568877157329827920827142495466891895289606595401622383713248, entry_market_cap_usd: 5958.549618926, called_at: new Date(NOW).toISOString() });
    expect(page.more).toBe(true);
    expect((await reader.readPage(null, signal)).more).toBe(false);
    expect(fetch.urls[1]).toMatch(/page=2$/);
  });

  it("a renamed price key fails every pool (SchemaError); one bad pool among good ones is counted", async () => {
    const pools = fixtureItems("geckoterminal/new-pools-solana.json");
    const renamed = pools.map((pool) => {
      const { base_token_price_usd, ...attributes } = pool.attributes as Record<string, unknown>;
      return { ...pool, attributes: { ...attributes, base_token_price: base_token_price_usd } };
    });
    const config = source("geckoterminal_trending", { network: "solana" });
    await expect(createGeckoTerminalTrendingReader(config, { gate: open, fetch: stubFetch(() => jsonResponse({ data: renamed })) }).readPage(null, signal))
      .rejects.toThrow(SchemaError);
    const mixed = [pools[0], { ...pools[1], relationships: { base_token: { data: { id: "eth_0xabc" } } } }, pools[2]];
    const page = await createGeckoTerminalTrendingReader(config, { gate: open, fetch: stubFetch(() => jsonResponse({ data: mixed })) }).readPage(null, signal);
    expect(page).toMatchObject({ unreadable: 1, firstIssue: "data[1].relationships.base_token.data.id: not a solana token id" });
    expect(page.calls).toHaveLength(2);
  });

  it("a network peakwatch cannot map to a chain needs config.chain", () => {
    expect(() => createGeckoTerminalTrendingReader(source("geckoterminal_trending", { network: "somenet" }), { gate: open }))
      .toThrow(SourceConfigError);
    expect(() => createGeckoTerminalTrendingReader(source("geckoterminal_trending", { network: "somenet", chain: "somechain" }), { gate: open }))
      .not.toThrow();
  });
});
