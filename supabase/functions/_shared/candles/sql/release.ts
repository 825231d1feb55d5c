import type { Sql } from "../../db/client.ts";

/** Hands a leased stream back untouched (our own budget ran out): due at `dueAt`, no attempt counted. */
export async function releaseCandleStream(sql: Sql, streamId: number, owner: string, dueAt: Date): Promise<boolean> {
  const [row] = await sql<{ released: boolean }[]>`
    select peakwatch.release_candle_stream(${streamId}::bigint, ${owner}, ${dueAt.toISOString()}::timestamptz) as released`;
  return row!.released;
}
