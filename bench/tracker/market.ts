import { startMarketSimulator, type MarketSimulator } from "../../dev/market-sim/server.ts";
import type { EndpointStats } from "../../dev/market-sim/controls.ts";
import type { TokenKind, TokenSpec } from "../../dev/market-sim/universe.ts";

export const CHAINS = ["solana", "ethereum", "base", "bsc"] as const;
export type Chain = (typeof CHAINS)[number];

/** DexScreener's documented limit for /tokens/v1 and its per-request address cap. */
export const DEXSCREENER_REQUESTS_PER_MINUTE = 300;
export const DEXSCREENER_ADDRESSES_PER_REQUEST = 30;
/** GeckoTerminal's public limit; tokens/multi also takes 30 addresses. */
export const GECKOTERMINAL_REQUESTS_PER_MINUTE = 30;

/**
 * The backlog's token classes (shares of the universe): what call groups post. Bonding-curve and
 * graduated tokens are Solana launchpad shapes, so only Solana slots get them (others stay steady).
 * Every class but never_listed can be priced; null_price is priced from priceNative or the fallback.
 */
export const MIX = {
  pump: 0.15,
  curve: 0.12,
  graduated: 0.06,
  null_price: 0.04,
  absurd_cap: 0.03,
  poison: 0.02,
  quote_only: 0.02,
  rug: 0.02,
  never_listed: 0.02,
} as const satisfies Partial<Record<TokenKind, number>>;
const SOLANA_ONLY = new Set<TokenKind>(["curve", "graduated"]);

function mixedKind(chain: Chain, random: () => number): TokenKind {
  let r = random();
  for (const [kind, share] of Object.entries(MIX) as Array<[TokenKind, number]>) {
    if (r < share) return SOLANA_ONLY.has(kind) && chain !== "solana" ? "steady" : kind;
    r -= share;
  }
  return "steady";
}

/** How many tokens of each kind a list of specs holds. */
export function mixOf(specs: TokenSpec[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const spec of specs) counts[spec.kind ?? "steady"] = (counts[spec.kind ?? "steady"] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** mulberry32: a small deterministic stream, so every run prices the same universe in the same order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A trading token: steady random walk mostly, some pumps (their event lies minutes ahead; they keep trading). */
export function tradingSpec(chain: Chain, random: () => number, pumpShare: number): TokenSpec {
  return { chain, kind: random() < pumpShare ? "pump" : "steady" };
}

/**
 * `count` tokens, the same number on every chain, in shuffled order: new tokens arrive from all
 * chains mixed, so a claimed batch holds several chains (as in production).
 */
export function backlogSpecs(count: number, seed: number): TokenSpec[] {
  const random = prng(seed);
  const specs = Array.from({ length: count }, (_, i): TokenSpec => {
    const chain = CHAINS[i % CHAINS.length]!;
    return { chain, kind: mixedKind(chain, random) };
  });
  for (let i = specs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [specs[i], specs[j]] = [specs[j]!, specs[i]!];
  }
  return specs;
}

export async function startBenchMarket(seed: number, specs: TokenSpec[]): Promise<MarketSimulator> {
  return await startMarketSimulator({
    port: 0,
    host: "127.0.0.1",
    seed,
    tokens: { chains: [...CHAINS], perChain: 0, extra: specs },
    limits: { dexscreenerTokens: DEXSCREENER_REQUESTS_PER_MINUTE, geckoterminal: GECKOTERMINAL_REQUESTS_PER_MINUTE, windowMs: 60_000 },
  });
}

export interface SimCounts {
  dexscreener: EndpointStats;
  geckoterminal: EndpointStats;
}

const zero = (): EndpointStats => ({ requests: 0, ok: 0, rateLimited: 0, faulted: 0, badRequest: 0, notFound: 0 });

export async function simCounts(sim: MarketSimulator): Promise<SimCounts> {
  const response = await fetch(`${sim.url}/__sim/stats`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`simulator stats answered ${response.status}`);
  const body = (await response.json()) as { endpoints: Record<string, EndpointStats> };
  const gecko = zero();
  for (const name of ["geckoterminal.tokens_multi", "geckoterminal.trending_pools"]) {
    const stats = body.endpoints[name];
    if (!stats) continue;
    for (const key of Object.keys(gecko) as (keyof EndpointStats)[]) gecko[key] += stats[key];
  }
  return { dexscreener: body.endpoints["dexscreener.tokens"] ?? zero(), geckoterminal: gecko };
}

/** Lists a token on the simulated market, as a new pair appears upstream before anyone calls it. */
export async function addSimToken(sim: MarketSimulator, spec: TokenSpec): Promise<{ chain: string; address: string }> {
  const response = await fetch(`${sim.url}/__sim/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ tokens: [spec] }),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 201) throw new Error(`simulator refused a token: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { tokens: Array<{ chain: string; address: string }> };
  const token = body.tokens[0];
  if (!token) throw new Error("simulator answered 201 without the token");
  return { chain: token.chain, address: token.address };
}
