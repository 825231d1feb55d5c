import type { Sql } from "../../db/client.ts";

/** Counts a failed attempt on each call and makes it due again at `retryAt`. */
export async function failVerifications(sql: Sql, owner: string, callIds: number[], error: string, retryAt: Date): Promise<number> {
  if (callIds.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select peakwatch.fail_call_verifications(${owner}, ${callIds}::bigint[], ${error}, ${retryAt.toISOString()}::timestamptz) as n`;
  return row?.n ?? 0;
}

/** Hands back calls this run could not get to (budget or time spent): due again now, not an attempt. */
export async function releaseVerifications(sql: Sql, owner: string, callIds: number[]): Promise<number> {
  if (callIds.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`select peakwatch.release_call_verifications(${owner}, ${callIds}::bigint[]) as n`;
  return row?.n ?? 0;
}
