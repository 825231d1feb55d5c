import postgres from "postgres";

export interface CandleFillShape {
  /** Candle rows wanted (rounded up to whole instruments). */
  rows: number;
  /** Days of 15m history per instrument, ending at the last closed bucket. */
  days: number;
}

export interface CandleFillResult {
  rows: number;
  instruments: number;
  streams: number;
  partitions: number;
  from: Date;
  to: Date;
  seconds: number;
}

const BARS_PER_DAY = 96;
const FIFTEEN_MINUTES = 15 * 60_000;

/**
 * Fills a migrated database with `rows` 15m candles: ceil(rows / (days × 96)) GeckoTerminal
 * instruments with one 15m stream each, `days` of history ending at the last closed bucket, written
 * month by month in primary-key order with INSERT … SELECT generate_series (two months at a time,
 * one per core), then VACUUM ANALYZE. Streams look like a running collector's: cursor at the
 * newest bar, backfill done, an hour of writes counted.
 */
export async function fillCandles(url: string, shape: CandleFillShape, progress: (message: string) => void): Promise<CandleFillResult> {
  const started = Date.now();
  const instruments = Math.max(1, Math.ceil(shape.rows / (shape.days * BARS_PER_DAY)));
  const to = new Date(Math.floor(Date.now() / FIFTEEN_MINUTES) * FIFTEEN_MINUTES - FIFTEEN_MINUTES);
  const from = new Date(to.getTime() - (shape.days * BARS_PER_DAY - 1) * FIFTEEN_MINUTES);
  const sql = postgres(url, { max: 2, onnotice: () => {}, idle_timeout: 5 });
  try {
    progress(`candles: ${instruments.toLocaleString("en-US")} instruments × ${shape.days} days of 15m bars (${from.toISOString()} … ${to.toISOString()})`);
    await sql`
      insert into peakwatch.instruments (provider, network, symbol, token_side, backfill_days)
      select 'geckoterminal', 'solana', 'BenchPool' || lpad(g::text, 7, '0'), 'base', ${shape.days}::int
      from generate_series(1, ${instruments}::int) g`;
    await sql`
      insert into peakwatch.candle_streams (instrument_id, timeframe, due_at, last_closed_bucket, last_success_at, backfill_target,
        backfill_cursor, backfill_done_at, bars_written, written_hour, written_in_hour, written_prev_hour, created_at)
      select i.id, '15m', now() + interval '1 minute', ${to.toISOString()}::timestamptz, now(), ${from.toISOString()}::timestamptz,
        ${from.toISOString()}::timestamptz, now(), ${shape.days * BARS_PER_DAY}::int, date_trunc('hour', now()), 4, 4, now() - interval '400 days'
      from peakwatch.instruments i where i.symbol like 'BenchPool%'`;
    const [made] = await sql<{ n: number }[]>`
      select peakwatch.ensure_candle_partitions(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz) as n`;
    const months: Array<[Date, Date]> = [];
    for (let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)); m <= to; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) {
      const next = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1));
      months.push([new Date(Math.max(m.getTime(), from.getTime())), new Date(Math.min(next.getTime() - FIFTEEN_MINUTES, to.getTime()))]);
    }
    const [{ first }] = await sql<{ first: string }[]>`select min(id)::text as first from peakwatch.instruments where symbol like 'BenchPool%'` as unknown as [{ first: string }];
    let rows = 0;
    const queue = [...months];
    const worker = async () => {
      for (let month = queue.shift(); month; month = queue.shift()) {
        const [start, end] = month;
        const t0 = Date.now();
        // instrument-major, bucket-minor: every row lands at the right edge of the partition's key index
        const result = await sql`
          insert into peakwatch.candles (instrument_id, timeframe, bucket, open, high, low, close, volume, synthetic, source, fetched_at)
          select i, '15m', b, p, p * 1.01, p * 0.99, p * 1.002, (i % 97) * 10 + 1, false, 'bench', b + interval '16 minutes'
          from generate_series(${first}::bigint, ${first}::bigint + ${instruments - 1}::int) i,
               lateral generate_series(${start.toISOString()}::timestamptz, ${end.toISOString()}::timestamptz, interval '15 minutes') b,
               lateral (select (1 + ((i * 7919 + extract(epoch from b)::bigint / 900) % 1000) / 1000.0)::numeric(12, 6) as p) x`;
        rows += result.count;
        progress(`  ${start.toISOString().slice(0, 7)}: ${result.count.toLocaleString("en-US")} rows in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    };
    await Promise.all([worker(), worker()]);
    progress("vacuum analyze candles");
    await sql`vacuum analyze peakwatch.candles, peakwatch.candle_streams, peakwatch.instruments`;
    return { rows, instruments, streams: instruments, partitions: made!.n, from, to, seconds: (Date.now() - started) / 1000 };
  } finally {
    await sql.end({ timeout: 1 });
  }
}
