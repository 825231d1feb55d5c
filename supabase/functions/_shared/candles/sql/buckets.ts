import type { Sql } from "../../db/client.ts";

/** Buckets a stream has stored in [from, to), oldest first (at most 50,000 buckets wide): gap detection compares them with the calendar. */
export async function candleBuckets(sql: Sql, streamId: number, from: Date, to: Date): Promise<Date[]> {
  const rows = await sql<{ bucket: string }[]>`
    select b as bucket from peakwatch.candle_buckets(${streamId}::bigint, ${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz) b`;
  return rows.map((row) => new Date(row.bucket));
}
