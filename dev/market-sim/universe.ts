import { z } from "zod";
import { between, pick, randomBytes, type Rng, streamFor } from "./prng.ts";

/**
 * steady: random walk only · pump: multiplies at eventAtMs · rug: liquidity drains to ~0 at
 * eventAtMs · late: no pairs until listAtMs (pending → active) · quote_only: appears only as the
 * quote token of its pairs, so DexScreener prices it by inversion.
 *
 * Market-truth shapes (only when asked for by spec; docs/market-truth.md): curve: one `pumpfun`
 * bonding-curve pair without a `liquidity` object · graduated: the closed curve pair at liquidity 0
 * (its last price frozen) beside a live `pumpswap` pool · null_price: DexScreener sends `priceUsd:
 * null` (priceNative set) · absurd_cap: DexScreener's marketCap is 1e15 · poison: a name with NUL and
 * an unpaired surrogate, marketCap 0, and feed calls carrying poison values · never_listed: no pairs,
 * ever.
 */
export const TOKEN_KINDS = [
  "steady", "pump", "rug", "late", "quote_only",
  "curve", "graduated", "null_price", "absurd_cap", "poison", "never_listed",
] as const;
/** The kinds a generated universe draws from; the market-truth shapes come only by spec. */
const GENERATED_KINDS = TOKEN_KINDS.slice(0, 5);
export type TokenKind = (typeof TOKEN_KINDS)[number];

export interface Asset {
  address: string;
  symbol: string;
  name: string;
}

export interface QuoteAsset extends Asset {
  priceUsd: number;
}

export interface SimPair {
  pairAddress: string;
  dexId: string;
  /** The other side of the pair: what our token trades against (or, for quote_only, the base). */
  counter: QuoteAsset;
  liquidityShare: number;
}

export interface SimToken extends Asset {
  index: number;
  chain: string;
  kind: TokenKind;
  startPriceUsd: number;
  totalSupply: number;
  circulatingShare: number;
  startLiquidityUsd: number;
  /** Offsets from simulator start. */
  listAtMs: number;
  eventAtMs: number | null;
  pumpFactor: number;
  /** False: DexScreener omits marketCap (fdv only) and GeckoTerminal sends market_cap_usd null. */
  reportsMarketCap: boolean;
  volatility: number;
  pairs: SimPair[];
}

export const QUOTE_ASSETS: Record<string, QuoteAsset[]> = {
  solana: [
    { address: "So11111111111111111111111111111111111111112", symbol: "SOL", name: "Wrapped SOL", priceUsd: 150 },
    { address: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol: "USDC", name: "USD Coin", priceUsd: 1 },
  ],
  ethereum: [
    { address: "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", symbol: "WETH", name: "Wrapped Ether", priceUsd: 3000 },
    { address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", symbol: "USDC", name: "USD Coin", priceUsd: 1 },
  ],
  base: [
    { address: "0x4200000000000000000000000000000000000006", symbol: "WETH", name: "Wrapped Ether", priceUsd: 3000 },
    { address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", symbol: "USDC", name: "USD Coin", priceUsd: 1 },
  ],
  bsc: [
    { address: "0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c", symbol: "WBNB", name: "Wrapped BNB", priceUsd: 600 },
    { address: "0x55d398326f99059fF775485246999027B3197955", symbol: "USDT", name: "Tether USD", priceUsd: 1 },
  ],
};

const DEX_IDS: Record<string, string[]> = {
  solana: ["raydium", "orca", "meteora", "pumpswap"],
  ethereum: ["uniswap", "sushiswap"],
  base: ["uniswap", "aerodrome"],
  bsc: ["pancakeswap", "uniswap"],
};

export const DEFAULT_CHAINS = Object.keys(QUOTE_ASSETS);

export const tokenSpecSchema = z.object({
  chain: z.string().refine((chain) => chain in QUOTE_ASSETS, "unknown chain"),
  address: z.string().min(1).optional(),
  symbol: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  kind: z.enum(TOKEN_KINDS).optional(),
  priceUsd: z.number().positive().optional(),
  listAtMs: z.number().min(0).optional(),
  eventAtMs: z.number().min(0).optional(),
  pairs: z.number().int().min(1).max(3).optional(),
  reportsMarketCap: z.boolean().optional(),
});
export type TokenSpec = z.infer<typeof tokenSpecSchema>;

/** Every kind appears on each chain once perChain ≥ 5; the rest are drawn. */
export function generateUniverse(seed: number, chains: string[], perChain: number): SimToken[] {
  const tokens: SimToken[] = [];
  for (const chain of chains) {
    for (let i = 0; i < perChain; i++) {
      const kind = GENERATED_KINDS[i] ?? pick(streamFor(seed, "kind", chain, i), ["steady", "steady", "pump", "rug", "late", "quote_only"] as const);
      tokens.push(buildToken(seed, tokens.length, { chain, kind }, 0));
    }
  }
  return tokens;
}

/** `nowOffsetMs` shifts listAtMs/eventAtMs so a token added at runtime counts from its arrival. */
export function buildToken(seed: number, index: number, spec: TokenSpec, nowOffsetMs: number): SimToken {
  const rng = streamFor(seed, "token", index, spec.chain);
  const kind = spec.kind ?? "steady";
  const symbol = spec.symbol ?? randomSymbol(rng);
  const listAtMs = kind === "never_listed"
    ? Number.MAX_SAFE_INTEGER
    : nowOffsetMs + (spec.listAtMs ?? (kind === "late" ? Math.round(between(rng, 2, 10)) * 60_000 : 0));
  const eventAtMs =
    kind === "pump" || kind === "rug" ? nowOffsetMs + (spec.eventAtMs ?? Math.round(between(rng, 5, 30)) * 60_000) : null;
  const pairCount = kind === "curve" ? 1 : kind === "graduated" ? 2 : spec.pairs ?? 1 + Math.floor(rng() * 3);
  return {
    index,
    chain: spec.chain,
    address: spec.address ?? randomAddress(rng, spec.chain, index),
    symbol,
    name: spec.name ?? (kind === "poison" ? `Bad\u0000Name \ud83d${symbol}` : `${symbol.charAt(0)}${symbol.slice(1).toLowerCase()} Token`),
    kind,
    startPriceUsd: spec.priceUsd ?? 10 ** between(rng, -7, 0),
    totalSupply: 10 ** Math.round(between(rng, 8, 12)),
    circulatingShare: between(rng, 0.5, 1),
    startLiquidityUsd: 10 ** between(rng, 4, 6.5),
    listAtMs,
    eventAtMs,
    pumpFactor: between(rng, 3, 8),
    reportsMarketCap: spec.reportsMarketCap ?? rng() < 0.7,
    volatility: between(rng, 0.005, 0.03),
    pairs: buildPairs(rng, spec.chain, kind, pairCount),
  };
}

function buildPairs(rng: Rng, chain: string, kind: TokenKind, count: number): SimPair[] {
  const quotes = QUOTE_ASSETS[chain] ?? [];
  const dexIds = DEX_IDS[chain] ?? ["uniswap"];
  const weights = Array.from({ length: count }, (_, i) => (i === 0 ? 1 : between(rng, 0.05, 0.6)));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((weight, i) => ({
    pairAddress: randomAddress(rng, chain, -1),
    dexId: kind === "curve" || (kind === "graduated" && i === 0) ? "pumpfun" : kind === "graduated" ? "pumpswap" : pick(rng, dexIds),
    counter: kind === "quote_only" ? companion(rng, chain) : nth(quotes, i),
    liquidityShare: weight / total,
  }));
}

/** The base token of a quote_only token's pair: some other coin priced in ours. */
function companion(rng: Rng, chain: string): QuoteAsset {
  const symbol = randomSymbol(rng);
  return { address: randomAddress(rng, chain, -1), symbol, name: `${symbol} Companion`, priceUsd: 10 ** between(rng, -3, 1) };
}

function nth<T>(items: readonly T[], i: number): T {
  const item = items[i % items.length];
  if (item === undefined) throw new RangeError("no quote assets for this chain");
  return item;
}

function randomSymbol(rng: Rng): string {
  const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  return Array.from({ length: 3 + Math.floor(rng() * 3) }, () => pick(rng, [...letters])).join("");
}

/** Solana: base58 of 32 bytes. EVM: 20 bytes hex, every other token in mixed (checksum-like) case. */
function randomAddress(rng: Rng, chain: string, index: number): string {
  if (chain === "solana") return base58(randomBytes(rng, 32));
  const hex = Array.from(randomBytes(rng, 20), (byte) => byte.toString(16).padStart(2, "0")).join("");
  // Real EIP-55 needs keccak-256, which node:crypto lacks; providers match EVM addresses case-insensitively anyway.
  const cased = index % 2 === 1 ? [...hex].map((c) => (rng() < 0.5 ? c.toUpperCase() : c)).join("") : hex;
  return `0x${cased}`;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes: Uint8Array): string {
  let n = bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  let out = "";
  while (n > 0n) {
    out = BASE58.charAt(Number(n % 58n)) + out;
    n /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = `1${out}`;
  }
  return out;
}
