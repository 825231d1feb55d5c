import type { Sql } from "../../db/client.ts";

/** Counts a failed attempt on each call and makes it due again at `retryAt`. */
export async function failVerifications(sql: Sql, owner: string, callIds: number[], error: string, retryAt: Date): Promise<number> {
  if (callIds.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select peakwatch.fail_call_verifications(${owner}, ${callIds}::bigint[], ${error}, ${retryAt.toISOString()}::timestamptz) as n`;
  return row?.n ?? 0;
}
