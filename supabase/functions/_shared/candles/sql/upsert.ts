import type { Sql } from "../../db/client.ts";
import type { FunctionArgs } from "../../db/rows.ts";
import type { Bar } from "../provider.ts";

/** What one page of bars did to the store. Only inserted, revised, filled and updated rows were written. */
export interface UpsertCounts {
  inserted: number;
  /** A bar already closed when stored, whose values the provider changed. */
  revised: number;
  /** Identical to what is stored: not rewritten. */
  unchanged: number;
  /** A synthetic ("no trades") bar replaced by a real one. */
  filled: number;
  /** The still-forming bar with new values (not a revision). */
  updated: number;
}

/** At most this many bars per call (the SQL function refuses more). */
export const UPSERT_MAX_BARS = 10_000;

/**
 * Writes a page of bars for one stream in one round trip: idempotent (identical rows are not
 * rewritten), missing monthly partitions made on the way. Buckets must be aligned and unique.
 */
export async function upsertCandles(sql: Sql, streamId: number, bars: readonly Bar[], source: string): Promise<UpsertCounts> {
  const args: FunctionArgs<"upsert_candles"> = {
    p_stream_id: streamId,
    p_buckets: bars.map((bar) => bar.bucket.toISOString()),
    p_open: bars.map((bar) => bar.open),
    p_high: bars.map((bar) => bar.high),
    p_low: bars.map((bar) => bar.low),
    p_close: bars.map((bar) => bar.close),
    p_volume: bars.map((bar) => bar.volume),
    p_synthetic: bars.map((bar) => bar.synthetic),
    p_source: source,
  };
  // postgres.js sends a JS boolean array as one boolean, so the flags travel as text
  const [row] = await sql<UpsertCounts[]>`
    select * from peakwatch.upsert_candles(
      ${args.p_stream_id}::bigint, ${args.p_buckets}::timestamptz[],
      ${args.p_open}::numeric[], ${args.p_high}::numeric[], ${args.p_low}::numeric[], ${args.p_close}::numeric[],
      ${args.p_volume}::numeric[], ${args.p_synthetic.map((synthetic) => (synthetic ? "t" : "f"))}::text[]::boolean[], ${args.p_source}
    )`;
  return row!;
}
