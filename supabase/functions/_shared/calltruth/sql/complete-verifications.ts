import type { Sql } from "../../db/client.ts";

/** What candles said about one call since its last verification. */
export interface VerificationVerdict {
  call_id: number;
  /** End of the last whole minute read; the next verification starts there. */
  verified_through: string | null;
  wick_usd: number | null;
  wick_at: string | null;
  wick_resolution: string | null;
  tradeable_usd: number | null;
  tradeable_at: string | null;
  tradeable_resolution: string | null;
  entry_usd: number | null;
  entry_observed_at: string | null;
  entry_approximate: boolean | null;
  reads: number;
  next_due_at: string;
}

/** Writes a batch of verdicts in one round trip; returns how many calls were updated. */
export async function completeVerifications(sql: Sql, owner: string, verdicts: VerificationVerdict[]): Promise<number> {
  if (verdicts.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select peakwatch.complete_call_verifications(${owner}, ${sql.json(verdicts as never)}::jsonb) as n`;
  return row?.n ?? 0;
}
