/** Shared by the candles drill and the collector's tests: simulated pools as instruments, and the store's truth. */
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import type { Timeframe } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import type { SimToken } from "../market-sim/universe.ts";

export interface PoolSpec {
  network: string;
  pool: string;
  tokenSide?: string;
}

/** The first pool of each simulated token, with our token's side (quote for quote-only tokens). */
export function simPools(tokens: readonly SimToken[]): PoolSpec[] {
  return tokens.map((token) => ({
    network: toGeckoNetwork(token.chain)!,
    pool: token.pairs[0]!.pairAddress,
    tokenSide: token.kind === "quote_only" ? "quote" : "base",
  }));
}

/** One geckoterminal instrument per pool (reused when it exists) and a new stream per timeframe; returns the stream ids. */
export async function addPoolStreams(
  sql: Sql,
  pools: readonly PoolSpec[],
  timeframes: readonly Timeframe[],
  options: { backfillTarget?: Date } = {},
): Promise<Array<{ streamId: number; pool: string; timeframe: Timeframe }>> {
  const instruments = await sql<{ id: number; symbol: string }[]>`
    insert into peakwatch.instruments (provider, network, symbol, token_side)
    select 'geckoterminal', n, s, t from unnest(${pools.map((p) => p.network)}::text[], ${pools.map((p) => p.pool)}::text[], ${pools.map((p) => p.tokenSide ?? "base")}::text[]) as x(n, s, t)
    on conflict on constraint instruments_identity_key do update set enabled = true
    returning id, symbol`;
  const rows = await sql<{ id: number; instrument_id: number; timeframe: Timeframe }[]>`
    insert into peakwatch.candle_streams (instrument_id, timeframe, backfill_target)
    select i, tf, ${options.backfillTarget?.toISOString() ?? null}::timestamptz
    from unnest(${instruments.map((i) => i.id)}::bigint[]) as i, unnest(${[...timeframes]}::text[]) as tf
    returning id, instrument_id, timeframe`;
  const symbolOf = new Map(instruments.map((i) => [Number(i.id), i.symbol]));
  return rows.map((row) => ({ streamId: Number(row.id), pool: symbolOf.get(Number(row.instrument_id))!, timeframe: row.timeframe }));
}

export interface StoreTruth {
  streams: number;
  bars: number;
  /** Expected buckets (always-open calendar) missing between each stream's oldest bar and its last closed bar. */
  holes: number;
  /** Rows sharing (instrument, timeframe, bucket): the primary key makes it 0; counted anyway. */
  duplicates: number;
  openGaps: number;
  gapsFound: number;
  gapsRepaired: number;
  revisions: number;
  synthetic: number;
}

/** Counts over the given streams (all when omitted), straight from the tables. */
export async function storeTruth(sql: Sql, streamIds?: readonly number[]): Promise<StoreTruth> {
  const ids = streamIds ? [...streamIds] : null;
  const [row] = await sql<StoreTruth[]>`
    with s as (
      select s.* from peakwatch.candle_streams s where ${ids}::bigint[] is null or s.id = any(${ids}::bigint[])
    ), span as (
      select s.id, s.instrument_id, s.timeframe, peakwatch.candle_timeframe_interval(s.timeframe) as step,
             (select min(c.bucket) from peakwatch.candles c where c.instrument_id = s.instrument_id and c.timeframe = s.timeframe) as first,
             s.last_closed_bucket as last
      from s
    ), counts as (
      select count(*)::int as bars, (count(*) - count(distinct (c.instrument_id, c.timeframe, c.bucket)))::int as duplicates,
             count(*) filter (where c.synthetic)::int as synthetic
      from peakwatch.candles c join s on s.instrument_id = c.instrument_id and s.timeframe = c.timeframe
    )
    select
      (select count(*)::int from s) as streams,
      (select bars from counts) as bars,
      (select coalesce(sum((
         select count(*) from generate_series(span.first, span.last, span.step) b
         where not exists (select 1 from peakwatch.candles c where c.instrument_id = span.instrument_id and c.timeframe = span.timeframe and c.bucket = b)
       )), 0)::int from span where span.first is not null and span.last is not null) as holes,
      (select duplicates from counts) as duplicates,
      (select count(*)::int from peakwatch.candle_gaps g join s on s.id = g.stream_id where g.repaired_at is null) as "openGaps",
      (select coalesce(sum(gaps_found), 0)::int from s) as "gapsFound",
      (select coalesce(sum(gaps_repaired), 0)::int from s) as "gapsRepaired",
      (select coalesce(sum(revisions), 0)::int from s) as revisions,
      (select synthetic from counts) as synthetic`;
  return row!;
}

/** Makes every given stream due now (tests and drills drive time themselves). */
export async function makeDue(sql: Sql, streamIds?: readonly number[]): Promise<void> {
  const ids = streamIds ? [...streamIds] : null;
  await sql`update peakwatch.candle_streams set due_at = now(), lease_until = null, lease_owner = null where ${ids}::bigint[] is null or id = any(${ids}::bigint[])`;
}
