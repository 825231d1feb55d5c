import { RateLimitedError, UpstreamError } from "../providers/types.ts";
import type { Failure, FailureKind } from "../queue/fail.ts";
import { LaneUnavailableError } from "./lanes.ts";

/** A provider skipped because its shared breaker is open: nothing was asked, nothing learnt about the tokens. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(provider: string) {
    super(`${provider}: circuit open`);
  }
}

/**
 * True when an error says the provider as a whole is unreachable or refusing everyone: network
 * errors, timeouts, 5xx, 429, an open breaker, or our own limiter out of time. A 4xx or an
 * unreadable answer may be about the addresses asked for, so it is not.
 */
export function isProviderWide(error: unknown): boolean {
  if (error instanceof CircuitOpenError || error instanceof LaneUnavailableError || error instanceof RateLimitedError) return true;
  return error instanceof UpstreamError && (error.status === null || error.status >= 500);
}

/** The kind of failure a chunk's unpriced tokens get, given whether every lane error was provider-wide. */
export const kindOfLaneFailure = (providerWide: boolean): FailureKind => (providerWide ? "provider" : "poison");

/**
 * A chunk of two or more addresses where every one failed with the same error is the provider's
 * answer (drift, a refused request), not evidence about each token: no attempt is counted. A token
 * that fails alone, or beside priced neighbours, keeps its own kind.
 */
export function attributeChunk(failures: readonly Failure[], chunkSize: number): Failure[] {
  const first = failures[0];
  if (chunkSize < 2 || failures.length !== chunkSize || !first || failures.some((f) => f.error !== first.error)) return [...failures];
  return failures.map((failure) => ({ ...failure, kind: "provider" }));
}
