import { startMarketSimulator, type MarketSimulator } from "../../dev/market-sim/server.ts";
import type { EndpointStats } from "../../dev/market-sim/controls.ts";
import type { TokenSpec } from "../../dev/market-sim/universe.ts";

export const CHAINS = ["solana", "ethereum", "base", "bsc"] as const;
export type Chain = (typeof CHAINS)[number];

/** DexScreener's documented limit for /tokens/v1 and its per-request address cap. */
export const DEXSCREENER_REQUESTS_PER_MINUTE = 300;
export const DEXSCREENER_ADDRESSES_PER_REQUEST = 30;

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
export function backlogSpecs(count: number, seed: number, pumpShare: number): TokenSpec[] {
  const random = prng(seed);
  const specs = Array.from({ length: count }, (_, i) => tradingSpec(CHAINS[i % CHAINS.length]!, random, pumpShare));
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
    limits: { dexscreenerTokens: DEXSCREENER_REQUESTS_PER_MINUTE, windowMs: 60_000 },
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
