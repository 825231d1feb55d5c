import type { Sql } from "../db/client.ts";
import type { CandleProvider } from "../candles/provider.ts";
import { DEFAULT_VERIFY, verifyCalls } from "./verify.ts";

/** The share of a candles invocation's time budget spent verifying calls before collecting streams. */
export const VERIFY_SHARE_OF_BUDGET = 0.3;

/**
 * Call verification inside a candles run: young calls first, within its slice of the time budget.
 * Returns counts for the run log, prefixed `verify`, so they sit beside the collector's.
 */
export async function verifyWithinRun(
  options: { sql: Sql; owner: string; providers: { young: CandleProvider; backlog: CandleProvider }; timeBudgetMs: number; signal: AbortSignal },
): Promise<Record<string, number>> {
  const counts = await verifyCalls(
    { sql: options.sql, providers: options.providers, now: () => new Date(), signal: options.signal },
    { ...DEFAULT_VERIFY, owner: options.owner, deadline: Date.now() + options.timeBudgetMs * VERIFY_SHARE_OF_BUDGET },
  );
  const out: Record<string, number> = {
    verifyVerified: counts.verified,
    verifyFailed: counts.failed,
    verifyDeferred: counts.deferred,
    verifyProviderReads: counts.providerReads,
    verifyStoreReads: counts.storeReads,
  };
  for (const [kind, n] of Object.entries(counts.errors)) out[`verifyError_${kind}`] = n;
  return out;
}
