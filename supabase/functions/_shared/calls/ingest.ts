import type { Sql } from "../db/client.ts";
import { retryOnDeadlock } from "../db/deadlock.ts";
import type { FunctionArgs, IngestedBatch } from "../db/rows.ts";
import type { IngestCall } from "./call-input.ts";
import { sanitizeCalls } from "./sanitize-calls.ts";

export type CallOutcome = "new" | "duplicate" | "rejected";

export interface IngestBatch {
  sourceId: number;
  calls: readonly IngestCall[];
  /** The cursor after this batch; stored in the same transaction as the rows. Omit to leave it. */
  cursor?: string | null;
  /** The cursor this poll started from: the cursor moves only if nobody moved it since. */
  expectedCursor?: string | null;
  /** Items read from upstream that could not be parsed into a call: counted as fetched and rejected. */
  unreadable?: number;
}

export interface IngestResult {
  newCalls: number;
  duplicates: number;
  /** Rows the database refused (bad address, missing field …), not counting `unreadable`. */
  rejected: number;
  newTokens: number;
  /** Tokens newly flagged as copycats of a ticker. */
  copycats: number;
  /** Another poller moved the cursor since `expectedCursor`: the rows went in, the cursor stayed. */
  cursorConflict: boolean;
  /** One per call, in order. */
  outcomes: CallOutcome[];
  /** One per call: "<field>: <problem>" for a rejected call, else null. */
  reasons: Array<string | null>;
}

/**
 * Upserts a batch of calls of one source in one round trip: tokens on (chain, address), calls on
 * (source, external_id), per-source counters, and the cursor — one transaction, so the same batch
 * twice is a no-op and a crash between batches loses nothing.
 */
export async function ingestCalls(sql: Sql, batch: IngestBatch): Promise<IngestResult> {
  const sanitized = sanitizeCalls(batch.calls);
  const args: FunctionArgs<"ingest_calls"> = {
    p_source_id: batch.sourceId,
    p_calls: sanitized.calls as unknown as FunctionArgs<"ingest_calls">["p_calls"],
    p_cursor: batch.cursor ?? undefined,
    p_expected_cursor: batch.expectedCursor ?? undefined,
    p_unreadable: batch.unreadable ?? 0,
  };
  const [row] = await retryOnDeadlock("ingest_calls", () =>
    sql<IngestedBatch[]>`
      select * from peakwatch.ingest_calls(
        ${args.p_source_id}::bigint,
        ${sql.json(args.p_calls as Parameters<typeof sql.json>[0])},
        ${args.p_cursor ?? null}::text,
        ${args.p_expected_cursor ?? null}::text,
        ${args.p_unreadable ?? 0}::int
      )`
  );
  return {
    newCalls: row!.new_calls,
    duplicates: row!.duplicates,
    rejected: row!.rejected,
    newTokens: row!.new_tokens,
    copycats: row!.copycats,
    cursorConflict: row!.cursor_conflict,
    outcomes: row!.outcomes as CallOutcome[],
    reasons: row!.reasons.map((reason, i) => sanitized.poison.get(i) ?? (reason || null)),
  };
}
