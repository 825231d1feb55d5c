import type { Sql } from "../../db/client.ts";

/** Makes the monthly candle partitions covering [from, to] (UTC months); returns how many were created. */
export async function ensureCandlePartitions(sql: Sql, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    select peakwatch.ensure_candle_partitions(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz) as created`;
  return row!.created;
}
