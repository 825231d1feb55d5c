import type { Sql } from "../../db/client.ts";
import type { FunctionArgs } from "../../db/rows.ts";
import type { Timeframe } from "../timeframes.ts";

export type CandleProviderName = "geckoterminal" | "tradovate";

/** A leased stream with its instrument's provider-side identity. */
export interface ClaimedStream {
  streamId: number;
  instrumentId: number;
  provider: CandleProviderName;
  network: string | null;
  symbol: string;
  tokenSide: string | null;
  contract: string | null;
  calendar: string;
  timeframe: Timeframe;
  /** Newest closed bar stored; null before the first fetch. */
  lastClosedBucket: Date | null;
  backfillTarget: Date | null;
  /** Oldest bucket backfill has reached. */
  backfillCursor: Date | null;
  backfillDoneAt: Date | null;
  attempts: number;
}

export interface ClaimStreamsOptions {
  provider: CandleProviderName;
  limit: number;
  leaseSeconds: number;
  owner: string;
}

/** The generated type drops the nullability of a table-returning function's columns; this restores it. */
interface Row {
  stream_id: number;
  instrument_id: number;
  provider: CandleProviderName;
  network: string | null;
  symbol: string;
  token_side: string | null;
  contract: string | null;
  calendar: string;
  timeframe: Timeframe;
  last_closed_bucket: string | null;
  backfill_target: string | null;
  backfill_cursor: string | null;
  backfill_done_at: string | null;
  attempts: number;
}

const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

/** Leases up to `limit` due streams of one provider, most overdue first (SKIP LOCKED). */
export async function claimCandleStreams(sql: Sql, options: ClaimStreamsOptions): Promise<ClaimedStream[]> {
  const args: FunctionArgs<"claim_candle_streams"> = {
    p_provider: options.provider,
    p_limit: options.limit,
    p_lease_seconds: options.leaseSeconds,
    p_owner: options.owner,
  };
  const rows = await sql<Row[]>`
    select * from peakwatch.claim_candle_streams(${args.p_provider}, ${args.p_limit}::int, ${args.p_lease_seconds}::int, ${args.p_owner})`;
  return rows.map((row) => ({
    streamId: row.stream_id,
    instrumentId: row.instrument_id,
    provider: row.provider,
    network: row.network,
    symbol: row.symbol,
    tokenSide: row.token_side,
    contract: row.contract,
    calendar: row.calendar,
    timeframe: row.timeframe,
    lastClosedBucket: toDate(row.last_closed_bucket),
    backfillTarget: toDate(row.backfill_target),
    backfillCursor: toDate(row.backfill_cursor),
    backfillDoneAt: toDate(row.backfill_done_at),
    attempts: row.attempts,
  }));
}
