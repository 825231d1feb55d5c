/** What each simulated endpoint answers for the world as it stands at `elapsedMs`. */
import { toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { sameAddress } from "../../supabase/functions/_shared/providers/quote-checks.ts";
import type { Market, Snapshot } from "./market.ts";
import { QUOTE_ASSETS, type SimPair, type SimToken } from "./universe.ts";
import { dexPair, dexProfile, geckoPool, geckoToken, pairView } from "./wire.ts";

export const MAX_ADDRESSES = 30;
const PROFILES_PER_ANSWER = 30;
const POOLS_PER_PAGE = 20;

export interface World {
  tokens: SimToken[];
  market: Market;
  /** Wall-clock time of simulator start, for creation timestamps. */
  epochMs: number;
}

export interface Answer {
  status: number;
  body: unknown;
}

interface Listed {
  token: SimToken;
  snap: Snapshot;
}

export function dexTokens(world: World, chain: string, addresses: string[], elapsedMs: number): Answer {
  if (addresses.length > MAX_ADDRESSES) {
    return { status: 400, body: { message: `at most ${MAX_ADDRESSES} token addresses per request` } };
  }
  const pairs: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  const onChain = listedAmong(world, elapsedMs, candidates(world, chain, addresses));
  for (const address of addresses) {
    for (const { token, snap } of onChain) {
      for (const pair of token.pairs) {
        const { base, quote } = pairView(token, pair, snap);
        if (seen.has(pair.pairAddress) || !(sameAddress(base.address, address) || sameAddress(quote.address, address))) continue;
        seen.add(pair.pairAddress);
        pairs.push(dexPair(token, pair, snap, world.epochMs + token.listAtMs));
      }
    }
  }
  return { status: 200, body: pairs };
}

export function dexProfiles(world: World, elapsedMs: number): Answer {
  const newest = listed(world, elapsedMs)
    .sort((a, b) => b.token.listAtMs - a.token.listAtMs || b.token.index - a.token.index)
    .slice(0, PROFILES_PER_ANSWER);
  return { status: 200, body: newest.map(({ token }) => dexProfile(token, world.epochMs + token.listAtMs)) };
}

export function geckoTokens(world: World, network: string, addresses: string[], elapsedMs: number): Answer {
  const chain = chainOf(network);
  if (chain === null) return notFound();
  if (addresses.length > MAX_ADDRESSES) return jsonApiError(400, "Exceeded maximum number of addresses");
  const known = listedAmong(world, elapsedMs, candidates(world, chain, addresses));
  const data = addresses.flatMap((address) => {
    const hit = known.find(({ token }) => sameAddress(token.address, address));
    return hit ? [geckoToken(hit.token, hit.snap, network)] : [];
  });
  return { status: 200, body: { data } };
}

export function geckoTrending(world: World, network: string, page: number, elapsedMs: number): Answer {
  const chain = chainOf(network);
  if (chain === null) return notFound();
  const nativeUsd = QUOTE_ASSETS[chain]?.[0]?.priceUsd ?? 1;
  const pools = listed(world, elapsedMs, chain)
    .flatMap(({ token, snap }) => token.pairs.map((pair: SimPair) => ({ token, pair, snap })))
    .sort((a, b) => pairView(b.token, b.pair, b.snap).volume24hUsd - pairView(a.token, a.pair, a.snap).volume24hUsd)
    .slice((page - 1) * POOLS_PER_PAGE, page * POOLS_PER_PAGE);
  return {
    status: 200,
    body: { data: pools.map(({ token, pair, snap }) => geckoPool(token, pair, snap, network, nativeUsd, world.epochMs + token.listAtMs)) },
  };
}

function listed(world: World, elapsedMs: number, chain?: string): Listed[] {
  return world.tokens
    .filter((token) => chain === undefined || token.chain === chain)
    .map((token) => ({ token, snap: world.market.snapshot(token, elapsedMs) }))
    .filter(({ snap }) => snap.listed);
}

/**
 * Tokens on `chain` that may match one of `addresses`, as base or through a pair's counter, in
 * universe order. A superset of the exact (sameAddress) matches, so answers are unchanged; it keeps
 * a request O(tokens on the chain) with no snapshot or pair view for tokens nobody asked about.
 */
function candidates(world: World, chain: string, addresses: string[]): SimToken[] {
  const wanted = new Set(addresses.map((address) => address.toLowerCase()));
  return world.tokens.filter(
    (token) =>
      token.chain === chain &&
      (wanted.has(token.address.toLowerCase()) || token.pairs.some((pair) => wanted.has(pair.counter.address.toLowerCase()))),
  );
}

function listedAmong(world: World, elapsedMs: number, tokens: SimToken[]): Listed[] {
  return tokens.map((token) => ({ token, snap: world.market.snapshot(token, elapsedMs) })).filter(({ snap }) => snap.listed);
}

function chainOf(network: string): string | null {
  return Object.keys(QUOTE_ASSETS).find((chain) => toGeckoNetwork(chain) === network) ?? null;
}

function notFound(): Answer {
  return jsonApiError(404, "Specified network not found");
}

/** GeckoTerminal's documented error envelope. */
export function jsonApiError(status: number, title: string): Answer {
  return { status, body: { errors: [{ status: String(status), title }] } };
}
