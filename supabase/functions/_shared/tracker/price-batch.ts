import type { ClaimedToken } from "../db/rows.ts";
import { toGeckoNetwork } from "../providers/geckoterminal.ts";
import { needsSingleRetry } from "../providers/dexscreener.ts";
import { type AddressOutcome, type ProviderName, type ProviderResult, SchemaError } from "../providers/types.ts";
import type { Failure } from "../queue/fail.ts";
import { attributeChunk, CircuitOpenError, isProviderWide, kindOfLaneFailure } from "./attribute-failure.ts";
import { callLane, type Lane, type LaneCounters, LaneUnavailableError } from "./lanes.ts";
import { verdictFor } from "../market/truth.ts";
import type { Check } from "./record-checks.ts";
import { askSpare } from "./spare-lane.ts";
import { checkFor } from "./token-check.ts";
import type { TrackerStats } from "./stats.ts";

export interface PricingContext {
  primary: Lane;
  fallback?: Lane;
  deadline: number;
  signal: AbortSignal;
  stats: TrackerStats;
  /** A quote whose pair holds less liquidity than this counts as missing (a rug, a drained pool). */
  liquidityFloorUsd: number;
  /** Ask the fallback first when it has a slot free right now, so both providers' budgets are used. */
  spareFallback?: boolean;
  /** Sees every provider answer (yield, dropped values); a failure here never fails the batch. */
  observe?: (provider: ProviderName, chain: string, asked: string[], result: ProviderResult) => Promise<void>;
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

/** Every answer about each address, in the order they came; the verdict weighs them together. */
type Answers = Map<string, AddressOutcome[]>;

async function merge(known: Answers, result: ProviderResult, ctx: PricingContext, provider: ProviderName, chain: string, asked: string[]): Promise<void> {
  ctx.stats.parseFailures += result.parseFailures;
  for (const outcome of result.results) known.set(outcome.address, [...(known.get(outcome.address) ?? []), outcome]);
  // Yield bookkeeping must never fail a batch; a failure is counted instead.
  await ctx.observe?.(provider, chain, asked, result).catch(() => {
    ctx.stats.observeFailures += 1;
  });
}

const isPriced = (known: Answers, address: string) => known.get(address)?.some((answer) => answer.outcome === "priced") ?? false;

/**
 * Upstreams that cap a response at 30 pairs can cut our tokens off. Those are asked for again
 * together (halved while the answer stays capped), so a cut costs one request, not one per token.
 */
async function askPrimary(
  chain: string,
  addresses: string[],
  ctx: PricingContext,
  known: Answers,
  counters: LaneCounters,
): Promise<number> {
  const result = await callLane(ctx.primary, chain, addresses, { deadline: ctx.deadline, signal: ctx.signal, counters });
  await merge(known, result, ctx, ctx.primary.provider.name, chain, addresses);
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

/** A chain group's tokens not yet started: a chunk whose spare request priced most of it tops up from here. */
interface GroupQueue {
  take(count: number): ClaimedToken[];
}

/**
 * Prices one chunk. When a spare fallback request priced most of it, the primary request is
 * topped up from the group's queue, so the few left unpriced never cost a primary request alone.
 */
async function priceChunk(chain: string, tokens: ClaimedToken[], ctx: PricingContext, out: BatchOutcome, queue: GroupQueue): Promise<void> {
  const { stats, fallback } = ctx;
  const known: Answers = new Map();
  const askedFallback = new Set<string>();
  const errors: LaneErrors = { messages: [], onlyThrottled: true, providerWide: true };
  const failures: BatchOutcome["failures"] = [];

  const fallbackServes = fallback !== undefined && toGeckoNetwork(chain) !== null;
  let parseFailures = 0;
  if (ctx.spareFallback && fallback && fallbackServes && !ctx.signal.aborted) {
    const asked = tokens.map((t) => t.address);
    const spare = await askSpare(fallback, chain, asked, { deadline: ctx.deadline, signal: ctx.signal, counters: countersFor(stats) });
    if (spare.failed) stats.spareFailures += 1;
    if (spare.result) {
      for (const address of asked) askedFallback.add(address);
      stats.spareUsed += 1;
      parseFailures += spare.result.parseFailures;
      await merge(known, spare.result, ctx, fallback.provider.name, chain, asked);
      tokens = [...tokens, ...queue.take(asked.filter((a) => isPriced(known, a)).length)];
    }
  }
  const addresses = tokens.map((t) => t.address);
  const forPrimary = addresses.filter((a) => !isPriced(known, a));
  if (forPrimary.length > 0) {
    parseFailures += await attempt(ctx.primary, stats, errors, () => askPrimary(chain, forPrimary, ctx, known, countersFor(stats)));
  }
  const primaryFailed = errors.messages.length > 0;

  const unpriced = addresses.filter((a) => !isPriced(known, a));
  // A shutdown mid-request is ours, not the provider's: no fallback, and no attempt counted below.
  const aborted = ctx.signal.aborted;
  const forFallback = unpriced.filter((a) => !askedFallback.has(a));
  if (forFallback.length > 0 && fallback && !aborted && fallbackServes) {
    parseFailures += await attempt(fallback, stats, errors, async () => {
      // The fallback's budget is small: when the primary answered, take a slot only if one is free soon.
      const result = await callLane(fallback, chain, forFallback, {
        deadline: ctx.deadline,
        signal: ctx.signal,
        maxWaitMs: primaryFailed ? undefined : 2_000,
        counters: countersFor(stats),
      });
      stats.fallbackUsed += 1;
      await merge(known, result, ctx, fallback.provider.name, chain, forFallback);
      return result.parseFailures;
    });
  }

  const observedAt = new Date().toISOString();
  const expected = fallbackServes ? 2 : 1;
  for (const token of tokens) {
    const verdict = verdictFor(known.get(token.address) ?? [], expected);
    if (verdict.kind === "unknown" && (errors.messages.length === 0 || errors.onlyThrottled || aborted)) {
      // Only our own rate limit ran out of time, or we are shutting down: hand the token back without counting an attempt.
      out.unstarted.push(token.token_id);
    } else if (verdict.kind === "unknown") {
      failures.push({ tokenId: token.token_id, error: errors.messages.join("; ") || "no usable answer", kind: kindOfLaneFailure(errors.providerWide) });
    } else if (verdict.kind === "absent" && parseFailures > 0) {
      // With items that failed their schema, "not in the response" may mean "unreadable": never call that missing.
      failures.push({ tokenId: token.token_id, error: `schema: ${parseFailures} item(s) failed to parse`, kind: "poison" });
    } else {
      out.checks.push(checkFor(token, verdict, observedAt, ctx.liquidityFloorUsd));
    }
  }
  out.failures.push(...attributeChunk(failures, tokens.length));
}

/** Prices one claimed batch: primary per chain in chunks, fallback for what it could not price. */
export async function priceBatch(tokens: ClaimedToken[], ctx: PricingContext): Promise<BatchOutcome> {
  const out: BatchOutcome = { checks: [], failures: [], unstarted: [] };
  for (const [chain, group] of groupByChain(tokens)) {
    const pending = [...group];
    const queue: GroupQueue = { take: (count) => pending.splice(0, count) };
    while (pending.length > 0) {
      const part = queue.take(ctx.primary.provider.maxBatch);
      if (ctx.signal.aborted || Date.now() >= ctx.deadline) {
        out.unstarted.push(...part.map((token) => token.token_id));
        continue;
      }
      await priceChunk(chain, part, ctx, out, queue);
    }
  }
  return out;
}
