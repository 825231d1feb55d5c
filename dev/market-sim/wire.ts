/**
 * Builds DexScreener and GeckoTerminal payloads from the recorded fixtures: each object starts as
 * a copy of a real one, so key sets and nesting match the real wire format, and only values change.
 */
import dexPairs from "../../tests/fixtures/dexscreener/pairs-solana-milf.json" with { type: "json" };
import dexProfiles from "../../tests/fixtures/dexscreener/token-profiles-latest-v1.json" with { type: "json" };
import geckoPools from "../../tests/fixtures/geckoterminal/new-pools-solana.json" with { type: "json" };
import geckoTokens from "../../tests/fixtures/geckoterminal/tokens-multi-eth.json" with { type: "json" };
import type { Snapshot } from "./market.ts";
import type { Asset, SimPair, SimToken } from "./universe.ts";

const PAIR_TEMPLATE = required(dexPairs[0]);
const PROFILE_TEMPLATE = required(dexProfiles[1]);
const TOKEN_TEMPLATE = required(geckoTokens.data[0]);
const POOL_TEMPLATE = required(geckoPools.data[1]);

/** Where a token's pair stands right now, from our token's snapshot and the pair's share of it. */
interface PairView {
  base: Asset;
  quote: Asset;
  baseUsd: number;
  quoteUsd: number;
  liquidityUsd: number;
  volume24hUsd: number;
  /** fdv and market cap of the pair's base token; null market cap when not reported. */
  fdvUsd: number;
  marketCapUsd: number | null;
}

export function pairView(token: SimToken, pair: SimPair, snap: Snapshot): PairView {
  const ours = asset(token);
  const counter = asset(pair.counter);
  const quoteOnly = token.kind === "quote_only";
  return {
    base: quoteOnly ? counter : ours,
    quote: quoteOnly ? ours : counter,
    baseUsd: quoteOnly ? pair.counter.priceUsd : snap.priceUsd,
    quoteUsd: quoteOnly ? snap.priceUsd : pair.counter.priceUsd,
    liquidityUsd: snap.liquidityUsd * pair.liquidityShare,
    volume24hUsd: snap.volume24hUsd * pair.liquidityShare,
    fdvUsd: quoteOnly ? pair.counter.priceUsd * 1e9 : snap.fdvUsd,
    marketCapUsd: quoteOnly ? pair.counter.priceUsd * 1e9 : token.reportsMarketCap ? snap.marketCapUsd : null,
  };
}

export function dexPair(token: SimToken, pair: SimPair, snap: Snapshot, createdAt: number): Record<string, unknown> {
  const view = pairView(token, pair, snap);
  // marketCap is left out unless the token reports one, as DexScreener does.
  const { marketCap: _reportedOnly, ...template } = structuredClone(PAIR_TEMPLATE);
  const built = {
    ...template,
    chainId: token.chain,
    dexId: pair.dexId,
    url: `https://dexscreener.com/${token.chain}/${pair.pairAddress.toLowerCase()}`,
    pairAddress: pair.pairAddress,
    baseToken: { ...view.base },
    quoteToken: { ...view.quote },
    priceNative: dexDecimal(view.baseUsd / view.quoteUsd),
    priceUsd: dexDecimal(view.baseUsd),
    txns: byWindow((share) => ({ buys: Math.round((view.volume24hUsd * share) / 400), sells: Math.round((view.volume24hUsd * share) / 450) })),
    volume: byWindow((share) => round2(view.volume24hUsd * share)),
    priceChange: { m5: round2(snap.priceChangeH1Pct / 12), h1: snap.priceChangeH1Pct, h6: round2(snap.priceChangeH24Pct / 4), h24: snap.priceChangeH24Pct },
    liquidity: { usd: round2(view.liquidityUsd), base: round2(view.liquidityUsd / 2 / view.baseUsd), quote: round2(view.liquidityUsd / 2 / view.quoteUsd) },
    fdv: Math.round(view.fdvUsd),
    pairCreatedAt: createdAt,
  };
  const withCap = view.marketCapUsd === null ? built : { ...built, marketCap: Math.round(view.marketCapUsd) };
  return marketTruthShape(token, pair, withCap);
}

/** How DexScreener's answer differs for the market-truth kinds (universe.ts). */
function marketTruthShape(token: SimToken, pair: SimPair, item: Record<string, unknown>): Record<string, unknown> {
  switch (token.kind) {
    case "curve": {
      const { liquidity: _none, ...curve } = item;
      return curve;
    }
    case "graduated":
      // the closed curve keeps the price it had at graduation, a third of today's, with nothing in it
      return pair.dexId === "pumpfun"
        ? {
          ...item,
          priceUsd: dexDecimal(Number(item.priceUsd) / 3),
          priceNative: dexDecimal(Number(item.priceNative) / 3),
          liquidity: { usd: 0, base: 0, quote: 0 },
        }
        : item;
    case "null_price":
      return { ...item, priceUsd: null };
    case "absurd_cap":
      return { ...item, marketCap: 1e15 };
    case "poison":
      return { ...item, marketCap: 0 };
    default:
      return item;
  }
}

export function dexProfile(token: SimToken, listedAt: number): Record<string, unknown> {
  const image = `https://dd.dexscreener.com/ds-data/tokens/${token.chain}/${token.address}`;
  return {
    ...structuredClone(PROFILE_TEMPLATE),
    url: `https://dexscreener.com/${token.chain}/${token.address.toLowerCase()}`,
    chainId: token.chain,
    tokenAddress: token.address,
    icon: `${image}.png`,
    header: `${image}/header.png`,
    openGraph: `https://cdn.dexscreener.com/token-images/og/${token.chain}/${token.address}?timestamp=${listedAt}`,
    description: `${token.name} (${token.symbol}): SIMULATED token from the peakwatch market simulator.`,
    links: [{ type: "twitter", url: `https://x.com/${token.symbol.toLowerCase()}` }],
  };
}

export function geckoToken(token: SimToken, snap: Snapshot, network: string): Record<string, unknown> {
  const template = structuredClone(TOKEN_TEMPLATE);
  const address = geckoAddress(token.address);
  const decimals = token.chain === "solana" ? 6 : 18;
  const pools = [...token.pairs].sort((a, b) => b.liquidityShare - a.liquidityShare);
  return {
    ...template,
    id: `${network}_${address}`,
    attributes: {
      ...template.attributes,
      address,
      name: token.name,
      symbol: token.symbol,
      decimals,
      image_url: "missing.png",
      coingecko_coin_id: null,
      total_supply: `${BigInt(Math.round(token.totalSupply)) * 10n ** BigInt(decimals)}.0`,
      normalized_total_supply: String(token.totalSupply),
      price_usd: geckoDecimal(snap.priceUsd),
      fdv_usd: geckoDecimal(snap.fdvUsd),
      total_reserve_in_usd: token.kind === "curve" ? null : geckoDecimal(snap.liquidityUsd),
      volume_usd: { h24: geckoDecimal(snap.volume24hUsd) },
      market_cap_usd: token.reportsMarketCap ? geckoDecimal(snap.marketCapUsd) : null,
    },
    relationships: { top_pools: { data: pools.map((pair) => ({ id: `${network}_${geckoAddress(pair.pairAddress)}`, type: "pool" })) } },
  };
}

export function geckoPool(
  token: SimToken,
  pair: SimPair,
  snap: Snapshot,
  network: string,
  nativeUsd: number,
  createdAt: number,
): Record<string, unknown> {
  const template = structuredClone(POOL_TEMPLATE);
  const view = pairView(token, pair, snap);
  return {
    ...template,
    id: `${network}_${geckoAddress(pair.pairAddress)}`,
    attributes: {
      ...template.attributes,
      base_token_price_usd: geckoDecimal(view.baseUsd),
      base_token_price_native_currency: geckoDecimal(view.baseUsd / nativeUsd),
      quote_token_price_usd: geckoDecimal(view.quoteUsd),
      quote_token_price_native_currency: geckoDecimal(view.quoteUsd / nativeUsd),
      base_token_price_quote_token: geckoDecimal(view.baseUsd / view.quoteUsd),
      quote_token_price_base_token: geckoDecimal(view.quoteUsd / view.baseUsd),
      address: geckoAddress(pair.pairAddress),
      name: `${view.base.symbol} / ${view.quote.symbol}`,
      pool_created_at: new Date(createdAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      fdv_usd: geckoDecimal(view.fdvUsd),
      market_cap_usd: view.marketCapUsd === null ? null : geckoDecimal(view.marketCapUsd),
      price_change_percentage: byWindow(() => String(snap.priceChangeH24Pct), true),
      transactions: byWindow((share) => {
        const trades = Math.round((view.volume24hUsd * share) / 400);
        return { buys: trades, sells: trades, buyers: Math.ceil(trades / 2), sellers: Math.ceil(trades / 2) };
      }, true),
      volume_usd: byWindow((share) => geckoDecimal(view.volume24hUsd * share), true),
      reserve_in_usd: geckoDecimal(view.liquidityUsd),
    },
    relationships: {
      base_token: { data: { id: `${network}_${geckoAddress(view.base.address)}`, type: "token" } },
      quote_token: { data: { id: `${network}_${geckoAddress(view.quote.address)}`, type: "token" } },
      dex: { data: { id: pair.dexId, type: "dex" } },
    },
  };
}

/** In the wire's key order, without simulator-only fields. */
function asset({ address, name, symbol }: Asset): Asset {
  return { address, name, symbol };
}

/** GeckoTerminal reports EVM addresses in lower case. */
export function geckoAddress(address: string): string {
  return address.startsWith("0x") ? address.toLowerCase() : address;
}

/** DexScreener prints about four significant digits for small prices and two decimals above one. */
function dexDecimal(value: number): string {
  const magnitude = Math.floor(Math.log10(value));
  return value.toFixed(Math.min(20, Math.max(2, 3 - magnitude)));
}

/** GeckoTerminal prints long plain decimals, never exponent notation. */
function geckoDecimal(value: number): string {
  const magnitude = Math.floor(Math.log10(Math.max(value, 1e-30)));
  return value.toFixed(Math.min(60, Math.max(1, 14 - magnitude)));
}

const WINDOW_SHARES = { m5: 1 / 288, h1: 1 / 24, h6: 1 / 4, h24: 1 };
const GECKO_WINDOW_SHARES = { m5: 1 / 288, m15: 1 / 96, m30: 1 / 48, h1: 1 / 24, h6: 1 / 4, h24: 1 };

function byWindow<T>(value: (share: number) => T, gecko = false): Record<string, T> {
  const shares = gecko ? GECKO_WINDOW_SHARES : WINDOW_SHARES;
  return Object.fromEntries(Object.entries(shares).map(([window, share]) => [window, value(share)]));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("market-sim: a fixture template is empty");
  return value;
}

/** The `renamed_optional` fault: an optional field renamed, so lenient parsers read every pair as unpriceable. */
export function withRenamedOptional(body: unknown): unknown {
  return mapItems(body, (items) => items.map((item) => renameKey(item, "priceUsd", "price_usd")));
}

/** What the `renamed_field` fault renames: a field each parser relies on. */
const RENAMES = {
  "dexscreener.tokens": { inAttributes: false, from: "baseToken", to: "base_token" },
  "dexscreener.profiles": { inAttributes: false, from: "tokenAddress", to: "token_address" },
  "geckoterminal.tokens_multi": { inAttributes: true, from: "price_usd", to: "priceUsd" },
  "geckoterminal.trending_pools": { inAttributes: true, from: "base_token_price_usd", to: "base_token_price" },
  "feed.calls": { inAttributes: false, from: "token_address", to: "tokenAddress" },
} as const;

function renamer(endpoint: keyof typeof RENAMES): (item: Record<string, unknown>) => Record<string, unknown> {
  const { inAttributes, from, to } = RENAMES[endpoint];
  return (item) =>
    inAttributes ? { ...item, attributes: renameKey(item.attributes as Record<string, unknown>, from, to) } : renameKey(item, from, to);
}

/** Applies `change` to the item list of a body: a bare array, JSON:API `data` or the feed's `calls`. */
function mapItems(body: unknown, change: (items: Array<Record<string, unknown>>) => unknown[]): unknown {
  if (Array.isArray(body)) return change(body);
  const document = body as Record<string, unknown>;
  const key = Array.isArray(document.data) ? "data" : "calls";
  return { ...document, [key]: change(document[key] as Array<Record<string, unknown>>) };
}

export function withRenamedField(endpoint: keyof typeof RENAMES, body: unknown): unknown {
  return mapItems(body, (items) => items.map(renamer(endpoint)));
}

/** Every third item (the 2nd, 5th, …) loses the field its parser relies on, and a null leads the list. */
export function withMalformedItems(endpoint: keyof typeof RENAMES, body: unknown): unknown {
  const rename = renamer(endpoint);
  return mapItems(body, (items) => (items.length === 0 ? items : [null, ...items.map((item, i) => (i % 3 === 1 ? rename(item) : item))]));
}

function renameKey(record: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key === from ? to : key, value]));
}
