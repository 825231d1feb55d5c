import { performance } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import type { Bar } from "../../supabase/functions/_shared/candles/provider.ts";
import { upsertCandles, type UpsertCounts } from "../../supabase/functions/_shared/candles/sql/upsert.ts";
import type { CandleBenchContext, CandleBenchSection } from "./section.ts";

const STREAMS = 20;
const BARS_PER_STREAM = 10_000;
/** GeckoTerminal's page: what one collector request writes. */
const PAGE = 1_000;
const FIFTEEN_MINUTES = 15 * 60_000;

function barsFor(stream: number, to: Date): Bar[] {
  const last = to.getTime();
  return Array.from({ length: BARS_PER_STREAM }, (_, i) => {
    const p = 1 + ((stream * 7919 + i) % 1000) / 1000;
    return { bucket: new Date(last - (BARS_PER_STREAM - 1 - i) * FIFTEEN_MINUTES), open: p, high: p * 1.01, low: p * 0.99, close: p * 1.002, volume: 10 + (i % 97), synthetic: i % 50 === 0 };
  });
}

async function addStreams(sql: Sql, prefix: string): Promise<Array<{ streamId: number; instrumentId: number }>> {
  return await sql<Array<{ streamId: number; instrumentId: number }>>`
    with i as (
      insert into peakwatch.instruments (provider, network, symbol, token_side)
      select 'geckoterminal', 'solana', ${prefix} || g, 'base' from generate_series(1, ${STREAMS}::int) g
      returning id
    )
    insert into peakwatch.candle_streams (instrument_id, timeframe, due_at)
    select i.id, '15m', now() + interval '1 day' from i
    returning id as "streamId", instrument_id as "instrumentId"`;
}

/** Pages of 1,000 bars through upsert_candles, one stream after another on one connection. */
async function upsertAll(sql: Sql, streams: Array<{ streamId: number }>, to: Date): Promise<{ barsPerSecond: number; counts: UpsertCounts }> {
  const counts: UpsertCounts = { inserted: 0, revised: 0, unchanged: 0, filled: 0, updated: 0 };
  let bars = 0;
  const started = performance.now();
  for (const [index, { streamId }] of streams.entries()) {
    const all = barsFor(index, to);
    for (let offset = 0; offset < all.length; offset += PAGE) {
      const page = all.slice(offset, offset + PAGE);
      const result = await upsertCandles(sql, streamId, page, "bench");
      for (const key of Object.keys(counts) as Array<keyof UpsertCounts>) counts[key] += result[key];
      bars += page.length;
    }
  }
  return { barsPerSecond: bars / ((performance.now() - started) / 1000), counts };
}

/** The same bars for other instruments with COPY FROM STDIN: the most this table takes on this machine. */
async function copyAll(sql: Sql, streams: Array<{ instrumentId: number }>, to: Date): Promise<number> {
  const started = performance.now();
  const writable = await sql`copy peakwatch.candles (instrument_id, timeframe, bucket, open, high, low, close, volume, synthetic, source, fetched_at) from stdin`.writable();
  const fetchedAt = new Date().toISOString();
  function* lines() {
    for (const [index, { instrumentId }] of streams.entries()) {
      let chunk = "";
      for (const bar of barsFor(index, to)) {
        chunk += `${instrumentId}\t15m\t${bar.bucket.toISOString()}\t${bar.open}\t${bar.high}\t${bar.low}\t${bar.close}\t${bar.volume}\t${bar.synthetic ? "t" : "f"}\tbench\t${fetchedAt}\n`;
      }
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), writable);
  return (streams.length * BARS_PER_STREAM) / ((performance.now() - started) / 1000);
}

/**
 * The write path against the physical limit: 20 streams × 10,000 15m bars (200,000 bars) through
 * upsert_candles in 1,000-bar pages, the same pages again (a refetch: nothing is written), and the
 * same bars for 20 other instruments with COPY into the same partitioned table.
 */
export const storeSection: CandleBenchSection = {
  name: "upsert vs COPY",
  async run({ sql, to, progress }: CandleBenchContext) {
    const [upsertStreams, copyStreams] = [await addStreams(sql, "UpsertBench"), await addStreams(sql, "CopyBench")];
    progress(`upsert: ${STREAMS} streams × ${BARS_PER_STREAM} bars in pages of ${PAGE}`);
    const insert = await upsertAll(sql, upsertStreams, to);
    progress("upsert again: the same pages (a refetch)");
    const refetch = await upsertAll(sql, upsertStreams, to);
    progress(`COPY: ${STREAMS} × ${BARS_PER_STREAM} bars`);
    const copy = await copyAll(sql, copyStreams, to);
    const total = STREAMS * BARS_PER_STREAM;
    const figures = {
      bars: total,
      upsertNewBarsPerSecond: Math.round(insert.barsPerSecond),
      upsertRefetchBarsPerSecond: Math.round(refetch.barsPerSecond),
      copyBarsPerSecond: Math.round(copy),
      upsertShareOfCopy: Math.round((100 * insert.barsPerSecond) / copy),
      insertCounts: insert.counts,
      refetchCounts: refetch.counts,
    };
    return {
      lines: [
        `write path, ${total.toLocaleString("en-US")} new 15m bars into the filled table:`,
        `  upsert_candles, 1,000-bar pages, 1 connection: ${figures.upsertNewBarsPerSecond.toLocaleString("en-US")} bars/s (${insert.counts.inserted.toLocaleString("en-US")} inserted)`,
        `  the same pages again (refetch):                  ${figures.upsertRefetchBarsPerSecond.toLocaleString("en-US")} bars/s (${refetch.counts.unchanged.toLocaleString("en-US")} unchanged, ${refetch.counts.inserted + refetch.counts.revised + refetch.counts.updated + refetch.counts.filled} written)`,
        `  COPY FROM STDIN into the same table:            ${figures.copyBarsPerSecond.toLocaleString("en-US")} bars/s (physical limit here)`,
        `  upsert reaches ${figures.upsertShareOfCopy} % of COPY`,
      ],
      figures,
    };
  },
};
