import type { Sql } from "../../db/client.ts";
import type { CoverageReason } from "../provider.ts";

export interface StreamProgress {
  /** Newest closed bar now stored (the cursor only moves forward). */
  lastClosedBucket: Date | null;
  /** Oldest bucket backfill has reached (only moves backwards). */
  backfillCursor: Date | null;
  backfillDone: boolean;
  coverageReason: CoverageReason | null;
  nextDueAt: Date;
  /** Only complete while this owner still holds the lease. */
  owner?: string;
}

/** Records a finished fetch and ends the lease. False when `owner` no longer holds it. */
export async function completeCandleStream(sql: Sql, streamId: number, progress: StreamProgress): Promise<boolean> {
  const [row] = await sql<{ completed: boolean }[]>`
    select peakwatch.complete_candle_stream(
      ${streamId}::bigint,
      ${progress.lastClosedBucket?.toISOString() ?? null}::timestamptz,
      ${progress.backfillCursor?.toISOString() ?? null}::timestamptz,
      ${progress.backfillDone}::boolean,
      ${progress.coverageReason}::text,
      ${progress.nextDueAt.toISOString()}::timestamptz,
      ${progress.owner ?? null}::text
    ) as completed`;
  return row!.completed;
}
