/** What one tracker invocation did; recorded in `runs.counts` and returned as JSON. */
export interface TrackerStats {
  claimed: number;
  priced: number;
  /** Checked, no pair yet and never traded: stays pending, retried on the slow cadence. */
  pending: number;
  /** Traded before, missing or below the liquidity floor now: counts toward dead. */
  missing: number;
  failed: number;
  /** Of `failed`, rows whose provider was down or refusing everyone: deferred, no attempt counted. */
  providerFailures: number;
  deadLettered: number;
  parseFailures: number;
  providerCalls: number;
  dexscreenerCalls: number;
  geckoterminalCalls: number;
  rateLimited: number;
  fallbackUsed: number;
  /** Chunks asked of the fallback first because it had a slot free (both budgets in use). */
  spareUsed: number;
  /** Such spare requests that failed (the primary was asked instead). */
  spareFailures: number;
  batches: number;
  /** Results dropped because the lease ran out and another worker holds the row. */
  staleDropped: number;
  /** Listed but unpriceable (or absence not confirmed by every provider): checked, no miss, no attempt. */
  unpriceable: number;
  /** Items that could not be stored even after sanitizing: rejected, an attempt of their token each. */
  poisonItems: number;
  /** Absurd market caps dropped from otherwise sane quotes. */
  absurdMarketCaps: number;
  /** Yield bookkeeping (Redis) that failed; the batch went on. */
  observeFailures: number;
  /** Yield per provider (health reads these from runs.counts): addresses asked that it priced before, and how many of those it priced now. */
  dexscreenerAskedKnown: number;
  dexscreenerPricedKnown: number;
  geckoterminalAskedKnown: number;
  geckoterminalPricedKnown: number;
  durationMs: number;
}

export const emptyStats = (): TrackerStats => ({
  claimed: 0,
  priced: 0,
  pending: 0,
  missing: 0,
  failed: 0,
  providerFailures: 0,
  deadLettered: 0,
  parseFailures: 0,
  providerCalls: 0,
  dexscreenerCalls: 0,
  geckoterminalCalls: 0,
  rateLimited: 0,
  fallbackUsed: 0,
  spareUsed: 0,
  spareFailures: 0,
  batches: 0,
  staleDropped: 0,
  unpriceable: 0,
  poisonItems: 0,
  absurdMarketCaps: 0,
  observeFailures: 0,
  dexscreenerAskedKnown: 0,
  dexscreenerPricedKnown: 0,
  geckoterminalAskedKnown: 0,
  geckoterminalPricedKnown: 0,
  durationMs: 0,
});
