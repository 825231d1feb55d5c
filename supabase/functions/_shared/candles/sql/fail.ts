import type { Sql } from "../../db/client.ts";
import { redactText } from "../../egress/redact.ts";

/** Records a failed fetch (error redacted), due again at `retryAt`. Returns the stream's attempts, null when `owner` no longer holds it. */
export async function failCandleStream(sql: Sql, streamId: number, error: string, retryAt: Date, owner?: string): Promise<number | null> {
  const [row] = await sql<{ attempts: number | null }[]>`
    select peakwatch.fail_candle_stream(${streamId}::bigint, ${redactText(error)}, ${retryAt.toISOString()}::timestamptz, ${owner ?? null}::text) as attempts`;
  return row!.attempts;
}
