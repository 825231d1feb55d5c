import type { Sql } from "../../db/client.ts";

export interface MissingRange {
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface OpenGap extends MissingRange {
  gapId: number;
  attempts: number;
}

/** Records missing ranges of a stream; ranges inside an open gap are not recorded again. Returns how many were new. */
export async function recordCandleGaps(sql: Sql, streamId: number, ranges: readonly MissingRange[], reason: string): Promise<number> {
  if (ranges.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select peakwatch.record_candle_gaps(${streamId}::bigint,
      ${ranges.map((range) => range.from.toISOString())}::timestamptz[], ${ranges.map((range) => range.to.toISOString())}::timestamptz[], ${reason}) as n`;
  return row!.n;
}

/** The open gap to repair next (newest first), or null; gaps tried `maxAttempts` times are left alone. */
export async function nextCandleGap(sql: Sql, streamId: number, maxAttempts: number): Promise<OpenGap | null> {
  const [row] = await sql<{ gap_id: number; gap_from: string; gap_to: string; attempts: number }[]>`
    select * from peakwatch.next_candle_gap(${streamId}::bigint, ${maxAttempts}::int)`;
  return row ? { gapId: Number(row.gap_id), from: new Date(row.gap_from), to: new Date(row.gap_to), attempts: row.attempts } : null;
}

/** After a repair attempt: null `missing` marks the gap repaired (true); else it shrinks to what is still missing. */
export async function resolveCandleGap(sql: Sql, gapId: number, missing: MissingRange | null, reason: string): Promise<boolean> {
  const [row] = await sql<{ repaired: boolean }[]>`
    select peakwatch.resolve_candle_gap(${gapId}::bigint, ${missing?.from.toISOString() ?? null}::timestamptz,
      ${missing?.to.toISOString() ?? null}::timestamptz, ${reason}) as repaired`;
  return row!.repaired;
}
