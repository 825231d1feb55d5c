import { z } from "zod";
import { fetchJson } from "./http.ts";
import { rejectReason, sameAddress, toFiniteNumber } from "./quote-checks.ts";
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
 * The pair that prices `address`: the deepest sane pair where it is the base token, else the
 * deepest sane pair where it is the quote token, priced by inversion.
 */
export function choosePair(pairs: DexPair[], chain: string, address: string): AddressOutcome {
  const onChain = pairs.filter((pair) => pair.chainId === chain);
  const asBase = onChain.filter((pair) => sameAddress(pair.baseToken.address, address)).map((pair) => asBaseQuote(pair, address));
  const asQuote = onChain.filter((pair) => sameAddress(pair.quoteToken.address, address)).map((pair) => asQuoteQuote(pair, address));
  for (const side of [asBase, asQuote]) {
    const sane = side.filter((quote) => rejectReason(quote) === null);
    if (sane.length > 0) return { address, outcome: "priced", quote: deepest(sane) };
  }
  const preferred = asBase.length > 0 ? asBase : asQuote;
  if (preferred.length === 0) return { address, outcome: "missing", reason: "not_in_response" };
  return { address, outcome: "missing", reason: rejectReason(deepest(preferred)) ?? "bad_price" };
}

export function quotesFromPairs(chain: string, addresses: string[], parsed: ParsedPairs): AddressOutcome[] {
  const capped = addresses.length > 1 && parsed.itemCount >= DEXSCREENER_PAIR_CAP;
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

function asBaseQuote(pair: DexPair, address: string): PriceQuote {
  return {
    address,
    priceUsd: toFiniteNumber(pair.priceUsd) ?? Number.NaN,
    marketCapUsd: toFiniteNumber(pair.marketCap) ?? toFiniteNumber(pair.fdv),
    liquidityUsd: toFiniteNumber(pair.liquidity?.usd),
    pairAddress: pair.pairAddress,
    dexId: pair.dexId,
    symbol: pair.baseToken.symbol ?? null,
    name: pair.baseToken.name ?? null,
    source: "dexscreener",
  };
}

/** priceNative is quote units per base unit, so one quote unit is worth priceUsd / priceNative. */
function asQuoteQuote(pair: DexPair, address: string): PriceQuote {
  const baseUsd = toFiniteNumber(pair.priceUsd);
  const quotePerBase = toFiniteNumber(pair.priceNative);
  return {
    address,
    priceUsd: baseUsd !== null && quotePerBase !== null && quotePerBase > 0 ? baseUsd / quotePerBase : Number.NaN,
    // The pair's fdv and marketCap describe the base token; ours cannot be derived without its supply.
    marketCapUsd: null,
    liquidityUsd: toFiniteNumber(pair.liquidity?.usd),
    pairAddress: pair.pairAddress,
    dexId: pair.dexId,
    symbol: pair.quoteToken.symbol ?? null,
    name: pair.quoteToken.name ?? null,
    source: "dexscreener",
  };
}

function deepest(quotes: PriceQuote[]): PriceQuote {
  return quotes.reduce((best, quote) => ((quote.liquidityUsd ?? 0) > (best.liquidityUsd ?? 0) ? quote : best));
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "item"}: ${issue.message}` : "unknown";
}
