import type { ClaimedToken } from "../db/rows.ts";
import { toGeckoNetwork } from "../providers/geckoterminal.ts";
import { needsSingleRetry } from "../providers/dexscreener.ts";
import { type AddressOutcome, type PriceQuote, type ProviderResult, SchemaError } from "../providers/types.ts";
import type { Failure } from "../queue/fail.ts";
import { attributeChunk, CircuitOpenError, isProviderWide, kindOfLaneFailure } from "./attribute-failure.ts";
import { callLane, type Lane, type LaneCounters, LaneUnavailableError } from "./lanes.ts";
import type { Check } from "./record-checks.ts";
import type { TrackerStats } from "./stats.ts";

export interface PricingContext {
  primary: Lane;
  fallback?: Lane;
  deadline: number;
  signal: AbortSignal;
  stats: TrackerStats;
  /** A quote whose pair holds less liquidity than this counts as missing (a rug, a drained pool). */
  liquidityFloorUsd: number;
}

export interface BatchOutcome {
  checks: Check[];
  failures: Failure[];
  /** Claimed but not started before the deadline: handed back without counting an attempt. */
  unstarted: number[];
}

function countersFor(stats: TrackerStats): LaneCounters {
  return {
    requested(provider) {
      stats.providerCalls += 1;
      if (provider === "dexscreener") stats.dexscreenerCalls += 1;
      if (provider === "geckoterminal") stats.geckoterminalCalls += 1;
    },
    rateLimited() {
      stats.rateLimited += 1;
    },
  };
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function groupByChain(tokens: ClaimedToken[]): Map<string, ClaimedToken[]> {
  const groups = new Map<string, ClaimedToken[]>();
  for (const token of tokens) groups.set(token.chain, [...(groups.get(token.chain) ?? []), token]);
  return groups;
}

const pricedCheck = (token: ClaimedToken, quote: PriceQuote, observedAt: string): Check => ({
  token_id: token.token_id,
  outcome: "priced",
  price_usd: quote.priceUsd,
  market_cap_usd: quote.marketCapUsd,
  liquidity_usd: quote.liquidityUsd,
  pair_address: quote.pairAddress,
  dex_id: quote.dexId,
  symbol: quote.symbol,
  name: quote.name,
  observed_at: observedAt,
});

/** Merges a provider answer into what we know per address; later priced answers win over missing ones. */
function merge(known: Map<string, AddressOutcome>, result: ProviderResult, stats: TrackerStats): void {
  stats.parseFailures += result.parseFailures;
  for (const outcome of result.results) {
    if (outcome.outcome === "priced" || !known.has(outcome.address) || known.get(outcome.address)!.outcome === "missing") {
      known.set(outcome.address, outcome);
    }
  }
}

/**
 * Upstreams that cap a response at 30 pairs can cut our tokens off. Those are asked for again
 * together (halved while the answer stays capped), so a cut costs one request, not one per token.
 */
async function askPrimary(
  chain: string,
  addresses: string[],
  ctx: PricingContext,
  known: Map<string, AddressOutcome>,
  counters: LaneCounters,
): Promise<number> {
  const result = await callLane(ctx.primary, chain, addresses, { deadline: ctx.deadline, signal: ctx.signal, counters });
  merge(known, result, ctx.stats);
  let parseFailures = result.parseFailures;
  const cut = needsSingleRetry(result);
  const retries = cut.length === 0 ? [] : cut.length < addresses.length ? [cut] : chunk(cut, Math.ceil(cut.length / 2));
  for (const part of retries) parseFailures += await askPrimary(chain, part, ctx, known, counters);
  return parseFailures;
}

interface LaneErrors {
  messages: string[];
  /** Every error was our own limiter running out of time: nothing upstream failed. */
  onlyThrottled: boolean;
  /** Every error was the provider's as a whole (see attribute-failure.ts): no attempt is counted. */
  providerWide: boolean;
}

async function attempt(lane: Lane, stats: TrackerStats, errors: LaneErrors, call: () => Promise<number>): Promise<number> {
  if (await lane.breaker.isOpen()) {
    errors.messages.push(new CircuitOpenError(lane.provider.name).message);
    errors.onlyThrottled = false;
    return 0;
  }
  try {
    return await call();
  } catch (error) {
    if (error instanceof SchemaError) stats.parseFailures += Math.max(1, error.parseFailures);
    errors.messages.push(describe(error));
    errors.onlyThrottled &&= error instanceof LaneUnavailableError;
    errors.providerWide &&= isProviderWide(error);
    return 0;
  }
}

async function priceChunk(chain: string, tokens: ClaimedToken[], ctx: PricingContext, out: BatchOutcome): Promise<void> {
  const { stats, fallback } = ctx;
  const addresses = tokens.map((t) => t.address);
  const known = new Map<string, AddressOutcome>();
  const errors: LaneErrors = { messages: [], onlyThrottled: true, providerWide: true };
  const failures: BatchOutcome["failures"] = [];

  let parseFailures = await attempt(ctx.primary, stats, errors, () => askPrimary(chain, addresses, ctx, known, countersFor(stats)));
  const primaryFailed = errors.messages.length > 0;

  const unpriced = addresses.filter((a) => known.get(a)?.outcome !== "priced");
  // A shutdown mid-request is ours, not the provider's: no fallback, and no attempt counted below.
  const aborted = ctx.signal.aborted;
  if (unpriced.length > 0 && fallback && !aborted && toGeckoNetwork(chain) !== null) {
    parseFailures += await attempt(fallback, stats, errors, async () => {
      // The fallback's budget is small: when the primary answered, take a slot only if one is free soon.
      const result = await callLane(fallback, chain, unpriced, {
        deadline: ctx.deadline,
        signal: ctx.signal,
        maxWaitMs: primaryFailed ? undefined : 2_000,
        counters: countersFor(stats),
      });
      stats.fallbackUsed += 1;
      merge(known, result, stats);
      return result.parseFailures;
    });
  }

  const observedAt = new Date().toISOString();
  for (const token of tokens) {
    const outcome = known.get(token.address);
    const definitivelyMissing = outcome?.outcome === "missing" && outcome.reason !== "response_capped";
    if (outcome?.outcome === "priced") {
      const { liquidityUsd } = outcome.quote;
      if (liquidityUsd !== null && liquidityUsd < ctx.liquidityFloorUsd) {
        out.checks.push({ token_id: token.token_id, outcome: "no_pair", reason: `liquidity ${liquidityUsd} below floor` });
      } else out.checks.push(pricedCheck(token, outcome.quote, observedAt));
    } else if (!definitivelyMissing && (errors.messages.length === 0 || errors.onlyThrottled || aborted)) {
      // Only our own rate limit ran out of time, or we are shutting down: hand the token back without counting an attempt.
      out.unstarted.push(token.token_id);
    } else if (!definitivelyMissing) {
      failures.push({ tokenId: token.token_id, error: errors.messages.join("; "), kind: kindOfLaneFailure(errors.providerWide) });
    } else if (parseFailures > 0) {
      // With items that failed their schema, "not in the response" may mean "unreadable": never call that missing.
      failures.push({ tokenId: token.token_id, error: `schema: ${parseFailures} item(s) failed to parse`, kind: "poison" });
    } else {
      out.checks.push({ token_id: token.token_id, outcome: "no_pair", reason: outcome.reason });
    }
  }
  out.failures.push(...attributeChunk(failures, tokens.length));
}

/** Prices one claimed batch: primary per chain in chunks, fallback for what it could not price. */
export async function priceBatch(tokens: ClaimedToken[], ctx: PricingContext): Promise<BatchOutcome> {
  const out: BatchOutcome = { checks: [], failures: [], unstarted: [] };
  for (const [chain, group] of groupByChain(tokens)) {
    for (const part of chunk(group, ctx.primary.provider.maxBatch)) {
      if (ctx.signal.aborted || Date.now() >= ctx.deadline) {
        out.unstarted.push(...part.map((token) => token.token_id));
        continue;
      }
      await priceChunk(chain, part, ctx, out);
    }
  }
  return out;
}
