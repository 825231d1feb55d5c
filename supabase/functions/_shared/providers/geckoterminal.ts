import { z } from "zod";
import { fetchJson } from "./http.ts";
import { saneMarketCap } from "../market/truth.ts";
import { rejectReason, sameAddress, toFiniteNumber } from "./quote-checks.ts";
import { type AddressOutcome, type PriceProvider, type ProviderResult, SchemaError } from "./types.ts";

export const GECKOTERMINAL_BASE_URL = "https://api.geckoterminal.com/api/v2";
export const GECKOTERMINAL_MAX_BATCH = 30;
/** Pins the response format; GeckoTerminal serves its latest version when none is asked for. */
export const GECKOTERMINAL_ACCEPT = "application/json;version=20230302";

/** DexScreener chain ids (ours) to GeckoTerminal network ids, where the two differ or are known to agree. */
const NETWORKS = new Map(Object.entries({
  ethereum: "eth",
  bsc: "bsc",
  polygon: "polygon_pos",
  avalanche: "avax",
  arbitrum: "arbitrum",
  optimism: "optimism",
  base: "base",
  solana: "solana",
  fantom: "ftm",
  cronos: "cro",
  zksync: "zksync",
  linea: "linea",
  blast: "blast",
  scroll: "scroll",
  mantle: "mantle",
  celo: "celo",
  pulsechain: "pulsechain",
  sui: "sui-network",
  ton: "ton",
  tron: "tron",
}));

/** Null for a chain we have no mapping for: guessing would query the wrong network silently. */
export function toGeckoNetwork(chain: string): string | null {
  return NETWORKS.get(chain) ?? null;
}

/** Our chain id for a GeckoTerminal network id, or null when there is no mapping. */
export function fromGeckoNetwork(network: string): string | null {
  for (const [chain, id] of NETWORKS) if (id === network) return chain;
  return null;
}

const numericString = z.string().nullish();

/** One resource of `GET /networks/{network}/tokens/multi/{addresses}` (JSON:API). */
export const geckoTokenSchema = z.object({
  id: z.string(),
  type: z.literal("token"),
  attributes: z.object({
    address: z.string().min(1),
    name: z.string().nullish(),
    symbol: z.string().nullish(),
    // Required key, null allowed: a renamed price field must fail here, not read as "no price".
    price_usd: z.string().nullable(),
    fdv_usd: numericString,
    market_cap_usd: numericString,
    total_reserve_in_usd: numericString,
  }),
  relationships: z
    .object({ top_pools: z.object({ data: z.array(z.object({ id: z.string() })) }).nullish() })
    .nullish(),
});

export type GeckoToken = z.infer<typeof geckoTokenSchema>;

export interface ParsedTokens {
  tokens: GeckoToken[];
  parseFailures: number;
  itemCount: number;
}

const envelopeSchema = z.object({ data: z.array(z.unknown()) });

export function buildUrl(baseUrl: string, network: string, addresses: string[]): string {
  const list = addresses.map(encodeURIComponent).join(",");
  return `${baseUrl.replace(/\/+$/, "")}/networks/${encodeURIComponent(network)}/tokens/multi/${list}`;
}

export function parseTokens(payload: unknown): ParsedTokens {
  const envelope = envelopeSchema.safeParse(payload);
  if (!envelope.success) throw new SchemaError("geckoterminal: expected a JSON:API document with a data array");
  const items = envelope.data.data;
  const tokens: GeckoToken[] = [];
  let firstIssue = "";
  for (const item of items) {
    const parsed = geckoTokenSchema.safeParse(item);
    if (parsed.success) tokens.push(parsed.data);
    else firstIssue ||= parsed.error.issues[0]?.path.join(".") ?? "item";
  }
  const parseFailures = items.length - tokens.length;
  if (items.length > 0 && tokens.length === 0) {
    throw new SchemaError(`geckoterminal: all ${parseFailures} tokens failed the schema (${firstIssue})`, parseFailures);
  }
  return { tokens, parseFailures, itemCount: items.length };
}

export function quoteToken(token: GeckoToken | undefined, network: string, address: string): AddressOutcome {
  if (!token) return { address, outcome: "missing", reason: "not_in_response" };
  const { attributes } = token;
  const topPool = token.relationships?.top_pools?.data[0]?.id ?? null;
  // market_cap_usd is null until the token's team verifies its supply; fdv is the documented stand-in.
  const cap = saneMarketCap(toFiniteNumber(attributes.market_cap_usd), toFiniteNumber(attributes.fdv_usd));
  const quote = {
    address,
    priceUsd: toFiniteNumber(attributes.price_usd) ?? Number.NaN,
    marketCapUsd: cap.value,
    ...(cap.dropped ? { marketCapDropped: true as const } : {}),
    liquidityUsd: toFiniteNumber(attributes.total_reserve_in_usd),
    pairAddress: topPool?.startsWith(`${network}_`) ? topPool.slice(network.length + 1) : topPool,
    dexId: null,
    symbol: attributes.symbol ?? null,
    name: attributes.name ?? null,
    source: "geckoterminal" as const,
  };
  const reason = rejectReason(quote);
  return reason ? { address, outcome: "missing", reason } : { address, outcome: "priced", quote };
}

export interface GeckoTerminalOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createGeckoTerminalProvider(options: GeckoTerminalOptions = {}): PriceProvider {
  const baseUrl = options.baseUrl ?? GECKOTERMINAL_BASE_URL;
  return {
    name: "geckoterminal",
    maxBatch: GECKOTERMINAL_MAX_BATCH,
    async fetchPrices(chain, addresses, signal): Promise<ProviderResult> {
      const network = toGeckoNetwork(chain);
      if (addresses.length === 0 || network === null) {
        const results = addresses.map((address): AddressOutcome => ({ address, outcome: "missing", reason: "unsupported_chain" }));
        return { results, parseFailures: 0, itemCount: 0, status: 0 };
      }
      if (addresses.length > GECKOTERMINAL_MAX_BATCH) {
        throw new RangeError(`geckoterminal takes at most ${GECKOTERMINAL_MAX_BATCH} addresses, got ${addresses.length}`);
      }
      const { status, body } = await fetchJson(buildUrl(baseUrl, network, addresses), {
        signal,
        fetch: options.fetch,
        timeoutMs: options.timeoutMs,
        headers: { accept: GECKOTERMINAL_ACCEPT },
      });
      const parsed = parseTokens(body);
      const results = addresses.map((address) =>
        quoteToken(parsed.tokens.find((token) => sameAddress(token.attributes.address, address)), network, address),
      );
      return { results, parseFailures: parsed.parseFailures, itemCount: parsed.itemCount, status };
    },
  };
}
