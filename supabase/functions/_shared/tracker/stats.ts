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
  batches: number;
  /** Results dropped because the lease ran out and another worker holds the row. */
  staleDropped: number;
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
  batches: 0,
  staleDropped: 0,
  durationMs: 0,
});
