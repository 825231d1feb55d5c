import type { Sql } from "../../db/client.ts";
import type { Bar } from "../provider.ts";
import type { Timeframe } from "../timeframes.ts";

/** At most this many bars per read (the SQL function refuses a wider range). */
export const READ_MAX_BARS = 10_000;

/** Bars of one instrument and timeframe in [from, to), oldest first. */
export async function readCandles(sql: Sql, instrumentId: number, timeframe: Timeframe, from: Date, to: Date): Promise<Bar[]> {
  const rows = await sql<{ bucket: string; open: number; high: number; low: number; close: number; volume: number; synthetic: boolean }[]>`
    select * from peakwatch.candles(${instrumentId}::bigint, ${timeframe}, ${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz)`;
  return rows.map((row) => ({ ...row, bucket: new Date(row.bucket) }));
}
