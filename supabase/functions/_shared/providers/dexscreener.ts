import { z } from "zod";
import { fetchJson } from "./http.ts";
import { isSanePrice, saneMarketCap } from "../market/truth.ts";
import { addressKey, rejectReason, sameAddress, toFiniteNumber } from "./quote-checks.ts";
import { type AddressOutcome, type PriceProvider, type PriceQuote, type ProviderResult, SchemaError } from "./types.ts";

export const DEXSCREENER_BASE_URL = "https://api.dexscreener.com";
export const DEXSCREENER_MAX_BATCH = 30;
/** Some deployments cut a tokens/v1 answer at this many pairs, whatever was asked. */
export const DEXSCREENER_PAIR_CAP = 30;

const tokenSchema = z.object({
  address: z.string().min(1),
  name: z.string().nullish(),
  symbol: z.string().nullish(),
});

/**
 * One pair of `GET /tokens/v1/{chainId}/{tokenAddresses}`. Strict on what pricing relies on
 * (identity, tokens, priceNative), lenient on what real answers omit (priceUsd, liquidity, fdv,
 * marketCap); txns, volume, info and the rest are not read and so not checked.
 */
export const dexPairSchema = z.object({
  chainId: z.string(),
  dexId: z.string(),
  pairAddress: z.string(),
  baseToken: tokenSchema,
  quoteToken: tokenSchema,
  priceNative: z.string(),
  priceUsd: z.string().nullish(),
  liquidity: z.object({ usd: z.number().nullish() }).nullish(),
  fdv: z.number().nullish(),
  marketCap: z.number().nullish(),
});

export type DexPair = z.infer<typeof dexPairSchema>;

export interface ParsedPairs {
  pairs: DexPair[];
  parseFailures: number;
  itemCount: number;
}

export function buildUrl(baseUrl: string, chain: string, addresses: string[]): string {
  const list = addresses.map(encodeURIComponent).join(",");
  return `${baseUrl.replace(/\/+$/, "")}/tokens/v1/${encodeURIComponent(chain)}/${list}`;
}

/** Items failing the schema are counted; only a payload with nothing readable is a SchemaError. */
export function parsePairs(payload: unknown): ParsedPairs {
  if (!Array.isArray(payload)) throw new SchemaError("dexscreener: expected a JSON array of pairs");
  const pairs: DexPair[] = [];
  let firstIssue = "";
  for (const item of payload) {
    const parsed = dexPairSchema.safeParse(item);
    if (parsed.success) pairs.push(parsed.data);
    else firstIssue ||= describeIssue(parsed.error);
  }
  const parseFailures = payload.length - pairs.length;
  if (payload.length > 0 && pairs.length === 0) {
    throw new SchemaError(`dexscreener: all ${parseFailures} pairs failed the schema (${firstIssue})`, parseFailures);
  }
  return { pairs, parseFailures, itemCount: payload.length };
}

/**
 * The pair that prices `address`: the best-ranked sane pair where it is the base token, else the
 * best-ranked sane pair where it is the quote token, priced by inversion. Pairs with known depth
 * rank first (deepest first), then pairs with no liquidity figure (bonding curves), then pairs at
 * zero (a closed curve). The quote carries the token's liquidity: the most any of its pairs holds.
 */
export function choosePair(pairs: DexPair[], chain: string, address: string): AddressOutcome {
  const onChain = pairs.filter((pair) => pair.chainId === chain);
  const usd = quoteAssetPrices(onChain);
  const asBase = onChain.filter((pair) => sameAddress(pair.baseToken.address, address)).map((pair) => asBaseQuote(pair, address, usd));
  const asQuote = onChain.filter((pair) => sameAddress(pair.quoteToken.address, address)).map((pair) => asQuoteQuote(pair, address, usd));
  if (asBase.length === 0 && asQuote.length === 0) return { address, outcome: "missing", reason: "not_in_response" };
  const liquidityUsd = tokenLiquidity([...asBase, ...asQuote]);
  for (const side of [asBase, asQuote]) {
    const sane = side.filter((quote) => rejectReason(quote) === null);
    if (sane.length > 0) return { address, outcome: "priced", quote: { ...ranked(sane)[0]!, liquidityUsd } };
  }
  return { address, outcome: "missing", reason: "unpriceable" };
}

export function quotesFromPairs(chain: string, addresses: string[], parsed: ParsedPairs): AddressOutcome[] {
  // Exactly at the cap: maybe cut. More pairs than the cap: nothing was cut, and an absent address
  // (never listed) is absent — re-asking it alone would cost a request per chunk.
  const capped = addresses.length > 1 && parsed.itemCount === DEXSCREENER_PAIR_CAP;
  return addresses.map((address) => {
    const outcome = choosePair(parsed.pairs, chain, address);
    if (capped && outcome.outcome === "missing" && outcome.reason === "not_in_response") {
      return { address, outcome: "missing", reason: "response_capped" };
    }
    return outcome;
  });
}

/** Addresses a capped answer may have cut off; ask for each of them alone. */
export function needsSingleRetry(result: ProviderResult): string[] {
  return result.results
    .filter((entry) => entry.outcome === "missing" && entry.reason === "response_capped")
    .map((entry) => entry.address);
}

export interface DexScreenerOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createDexScreenerProvider(options: DexScreenerOptions = {}): PriceProvider {
  const baseUrl = options.baseUrl ?? DEXSCREENER_BASE_URL;
  return {
    name: "dexscreener",
    maxBatch: DEXSCREENER_MAX_BATCH,
    async fetchPrices(chain, addresses, signal) {
      if (addresses.length === 0) return { results: [], parseFailures: 0, itemCount: 0, status: 0 };
      if (addresses.length > DEXSCREENER_MAX_BATCH) {
        throw new RangeError(`dexscreener takes at most ${DEXSCREENER_MAX_BATCH} addresses, got ${addresses.length}`);
      }
      const { status, body } = await fetchJson(buildUrl(baseUrl, chain, addresses), {
        signal,
        fetch: options.fetch,
        timeoutMs: options.timeoutMs,
      });
      const parsed = parsePairs(body);
      return { results: quotesFromPairs(chain, addresses, parsed), parseFailures: parsed.parseFailures, itemCount: parsed.itemCount, status };
    },
  };
}

/**
 * USD prices of the tokens the answer itself prices: every pair with priceUsd prices its base, and
 * its quote token as priceUsd / priceNative. Deeper pairs win. This lets a pair whose priceUsd is
 * null be priced from priceNative, when its quote token (SOL, WETH) is priced elsewhere in the answer.
 */
function quoteAssetPrices(pairs: DexPair[]): Map<string, number> {
  const usd = new Map<string, number>();
  const byDepth = [...pairs].sort((a, b) => (toFiniteNumber(b.liquidity?.usd) ?? -1) - (toFiniteNumber(a.liquidity?.usd) ?? -1));
  for (const pair of byDepth) {
    const baseUsd = toFiniteNumber(pair.priceUsd);
    const native = toFiniteNumber(pair.priceNative);
    if (baseUsd === null || !isSanePrice(baseUsd)) continue;
    const base = addressKey(pair.baseToken.address);
    const quote = addressKey(pair.quoteToken.address);
    if (!usd.has(base)) usd.set(base, baseUsd);
    if (native !== null && native > 0 && !usd.has(quote) && isSanePrice(baseUsd / native)) usd.set(quote, baseUsd / native);
  }
  return usd;
}

interface Candidate extends PriceQuote {
  /** The pair's own liquidity figure; the quote's liquidityUsd becomes the token's. */
  pairLiquidityUsd: number | null;
}

function asBaseQuote(pair: DexPair, address: string, usd: Map<string, number>): Candidate {
  const native = toFiniteNumber(pair.priceNative);
  const quoteUsd = usd.get(addressKey(pair.quoteToken.address));
  const fromNative = native !== null && native > 0 && quoteUsd !== undefined ? native * quoteUsd : null;
  const cap = saneMarketCap(toFiniteNumber(pair.marketCap), toFiniteNumber(pair.fdv));
  const liquidity = toFiniteNumber(pair.liquidity?.usd);
  return {
    address,
    priceUsd: toFiniteNumber(pair.priceUsd) ?? fromNative ?? Number.NaN,
    marketCapUsd: cap.value,
    ...(cap.dropped ? { marketCapDropped: true as const } : {}),
    liquidityUsd: liquidity,
    pairLiquidityUsd: liquidity,
    pairAddress: pair.pairAddress,
    dexId: pair.dexId,
    symbol: pair.baseToken.symbol ?? null,
    name: pair.baseToken.name ?? null,
    source: "dexscreener",
  };
}

/** priceNative is quote units per base unit, so one quote unit is worth priceUsd / priceNative. */
function asQuoteQuote(pair: DexPair, address: string, usd: Map<string, number>): Candidate {
  const baseUsd = toFiniteNumber(pair.priceUsd) ?? usd.get(addressKey(pair.baseToken.address)) ?? null;
  const quotePerBase = toFiniteNumber(pair.priceNative);
  const liquidity = toFiniteNumber(pair.liquidity?.usd);
  return {
    address,
    priceUsd: baseUsd !== null && quotePerBase !== null && quotePerBase > 0 ? baseUsd / quotePerBase : Number.NaN,
    // The pair's fdv and marketCap describe the base token; ours cannot be derived without its supply.
    marketCapUsd: null,
    liquidityUsd: liquidity,
    pairLiquidityUsd: liquidity,
    pairAddress: pair.pairAddress,
    dexId: pair.dexId,
    symbol: pair.quoteToken.symbol ?? null,
    name: pair.quoteToken.name ?? null,
    source: "dexscreener",
  };
}

/** Known depth first (deepest first), then unknown depth, then known zero. */
function ranked(candidates: Candidate[]): PriceQuote[] {
  const rank = (c: Candidate) => (c.pairLiquidityUsd === null ? 1 : c.pairLiquidityUsd > 0 ? 2 : 0);
  return [...candidates]
    .sort((a, b) => rank(b) - rank(a) || (b.pairLiquidityUsd ?? 0) - (a.pairLiquidityUsd ?? 0))
    .map(({ pairLiquidityUsd: _pair, ...quote }) => quote);
}

/** The most liquidity any pair of the token holds; null when no pair reports a figure. */
function tokenLiquidity(candidates: Candidate[]): number | null {
  const known = candidates.map((c) => c.pairLiquidityUsd).filter((n): n is number => n !== null);
  return known.length === 0 ? null : Math.max(0, ...known);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "item"}: ${issue.message}` : "unknown";
}
