import type { PriceProvider, ProviderResult } from "../providers/types.ts";
import { RateLimitedError, UpstreamError } from "../providers/types.ts";
import { withRetry } from "../limits/retry.ts";
import type { PricedMemory } from "./provider-yield.ts";

/** A shared, cross-instance rate limit for one provider. */
export interface Gate {
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}

/** A shared circuit breaker for one provider. */
export interface Breaker {
  isOpen(): Promise<boolean>;
  recordSuccess(): Promise<void>;
  recordFailure(): Promise<unknown>;
  /** Read-only: "closed" when calls flow normally (a half-open probe or an open breaker is not). */
  state(): Promise<string>;
}

/** A provider with the limiter and breaker every tracker instance shares for it. */
export interface Lane {
  provider: PriceProvider;
  limiter: Gate;
  breaker: Breaker;
  /** What this provider has priced before, for its yield reading (optional: tests without Redis). */
  priced?: PricedMemory;
}

export interface LaneCounters {
  requested(provider: string): void;
  rateLimited(provider: string): void;
}

export class LaneUnavailableError extends Error {
  override name = "LaneUnavailableError";
}

const isRetryable = (error: unknown) =>
  error instanceof RateLimitedError || (error instanceof UpstreamError && (error.status === null || error.status >= 500));

/**
 * One request through a lane: wait for the shared limiter (never past the deadline), retry 429,
 * 5xx and timeouts with backoff honouring Retry-After, and feed the breaker with the outcome.
 */
export async function callLane(
  lane: Lane,
  chain: string,
  addresses: string[],
  options: { deadline: number; signal: AbortSignal; maxWaitMs?: number; counters?: LaneCounters },
): Promise<ProviderResult> {
  // A retry is made only while the breaker is closed: a half-open probe answers with one request (so
  // recovery is noticed within one request, not after a round of backoff), and a caller whose
  // provider went down meanwhile stops at once instead of adding to the outage.
  let stopRetrying = false;
  let lastError: unknown;
  const attempt = async (n: number) => {
    if (n > 0 && (await lane.breaker.state()) !== "closed") {
      stopRetrying = true;
      throw lastError;
    }
    const waitBudget = Math.min(options.maxWaitMs ?? Number.POSITIVE_INFINITY, options.deadline - Date.now());
    if (waitBudget <= 0 || !(await lane.limiter.acquire(options.signal, waitBudget))) {
      throw new LaneUnavailableError(`${lane.provider.name}: no rate-limit slot before the deadline`);
    }
    options.counters?.requested(lane.provider.name);
    try {
      return await lane.provider.fetchPrices(chain, addresses, options.signal);
    } catch (error) {
      if (error instanceof RateLimitedError) options.counters?.rateLimited(lane.provider.name);
      lastError = error;
      throw error;
    }
  };
  try {
    const result = await withRetry(attempt, {
      retries: 2,
      baseMs: 250,
      capMs: 2_000,
      signal: options.signal,
      deadlineMs: options.deadline,
      isRetryable: (error) => !stopRetrying && isRetryable(error),
      retryAfterMs: (error) => (error instanceof RateLimitedError ? error.retryAfterMs ?? undefined : undefined),
    });
    await lane.breaker.recordSuccess();
    return result;
  } catch (error) {
    // Our own shutdown says nothing about the provider.
    if (!(error instanceof LaneUnavailableError) && !options.signal.aborted) await lane.breaker.recordFailure();
    throw error;
  }
}
