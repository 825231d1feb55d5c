import type { Sql } from "../db/client.ts";
import { retryOnDeadlock } from "../db/deadlock.ts";

export type Check =
  | {
    token_id: number;
    outcome: "priced";
    price_usd: number;
    market_cap_usd: number | null;
    liquidity_usd: number | null;
    pair_address: string | null;
    dex_id: string | null;
    symbol: string | null;
    name: string | null;
    observed_at: string;
  }
  /** Absent from every provider, or known liquidity under the floor: a miss toward dead. */
  | { token_id: number; outcome: "no_pair"; reason: string }
  /** Listed but unpriceable (or absence not confirmed by every provider): no miss, no attempt. */
  | { token_id: number; outcome: "unpriceable"; reason: string; listed: boolean };

/**
 * Writes a batch's prices, statuses, call ATH/entry values and the reschedule in one round trip.
 * Returns the tokens this worker still held (the others were dropped: their lease ran out).
 */
export async function recordChecks(
  sql: Sql,
  worker: string,
  checks: readonly Check[],
  deadAfterMisses = 5,
): Promise<Array<{ token_id: number; status: string }>> {
  if (checks.length === 0) return [];
  return await retryOnDeadlock("record_checks", () =>
    sql<Array<{ token_id: number; status: string }>>`
      select * from peakwatch.record_checks(${worker}, ${sql.json(checks as unknown as Parameters<typeof sql.json>[0])}, ${deadAfterMisses}::int)`
  );
}
