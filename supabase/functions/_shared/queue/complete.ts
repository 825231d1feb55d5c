import type { Sql } from "../db/client.ts";

/** Reschedules a finished batch by each token's cadence. Returns how many rows this worker still held. */
export async function complete(sql: Sql, worker: string, tokenIds: readonly number[]): Promise<number> {
  if (tokenIds.length === 0) return 0;
  const [row] = await sql<{ completed: number }[]>`
    select peakwatch.complete(${worker}, ${tokenIds as number[]}::bigint[]) as completed`;
  return row!.completed;
}
