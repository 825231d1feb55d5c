import type { Sql } from "../db/client.ts";
import type { Bar, CandleProvider } from "../candles/provider.ts";
import { type Timeframe, timeframeMs } from "../candles/timeframes.ts";
import type { BarSource } from "./peaks.ts";

export class BudgetSpent extends Error {
  constructor() {
    super("GeckoTerminal budget for verification is spent for now");
    this.name = "BudgetSpent";
  }
}

export class BarReadFailed extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
    this.name = "BarReadFailed";
  }
}

export interface PoolRef {
  network: string;
  pool: string;
  /** The token whose price we want, whichever side of the pool it is on. */
  token: string;
  tokenId: number;
}

const PAGE = 1000;

/**
 * Bars of one pool: from the candle store when it holds every bucket of the range (empty
 * intervals are stored as synthetic bars, so a complete range is a full count), else from the
 * provider (which spends its own share of the GeckoTerminal budget), paging back from `to` 1000 bars
 * at a time. Ranges read in one run are remembered, so calls on the same token share them.
 */
export function poolBarSource(
  ref: PoolRef,
  deps: { sql: Sql; provider: CandleProvider; signal: AbortSignal; counters: { providerReads: number; storeReads: number } },
): BarSource {
  // Ranges already read in this run, per timeframe: a range inside one of them is answered from it.
  const read = new Map<Timeframe, Array<{ from: number; to: number; bars: Bar[] }>>();
  return async (timeframe: Timeframe, from: Date, to: Date) => {
    const ranges = read.get(timeframe) ?? [];
    const covering = ranges.find((range) => range.from <= from.getTime() && range.to >= to.getTime());
    if (covering) return covering.bars.filter((bar) => bar.bucket >= from && bar.bucket < to);
    const stored = await fromStore(deps.sql, ref, timeframe, from, to);
    let bars: Bar[];
    if (stored) {
      deps.counters.storeReads += 1;
      bars = stored;
    } else {
      bars = await fromProvider(ref, timeframe, from, to, deps);
    }
    ranges.push({ from: from.getTime(), to: to.getTime(), bars });
    read.set(timeframe, ranges);
    return bars;
  };
}

async function fromStore(sql: Sql, ref: PoolRef, timeframe: Timeframe, from: Date, to: Date): Promise<Bar[] | null> {
  const size = timeframeMs(timeframe);
  const expected = Math.ceil((to.getTime() - from.getTime()) / size);
  if (expected <= 0) return [];
  const rows = await sql<{ bucket: Date; open: number; high: number; low: number; close: number; volume: number; synthetic: boolean }[]>`
    select c.bucket, c.open::float8 as open, c.high::float8 as high, c.low::float8 as low, c.close::float8 as close,
           c.volume::float8 as volume, c.synthetic
    from peakwatch.instruments i
    cross join lateral peakwatch.candles(i.id, ${timeframe}, ${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz) c
    where i.provider = 'geckoterminal' and i.network = ${ref.network} and i.symbol = ${ref.pool}
      and (i.token_id = ${ref.tokenId} or i.token_side = ${ref.token})
    order by c.bucket`;
  if (rows.length < expected) return null;
  return rows.map((row) => ({ ...row, bucket: new Date(row.bucket) }));
}

async function fromProvider(
  ref: PoolRef,
  timeframe: Timeframe,
  from: Date,
  to: Date,
  deps: { provider: CandleProvider; signal: AbortSignal; counters: { providerReads: number } },
): Promise<Bar[]> {
  const pages: Bar[][] = [];
  let end = to;
  while (end > from) {
    deps.counters.providerReads += 1;
    const [page] = await deps.provider.fetchBars(
      [{ streamId: 0, symbol: ref.pool, network: ref.network, tokenSide: ref.token, timeframe, from, to: end, limit: PAGE }],
      deps.signal,
    );
    if (!page) throw new BarReadFailed("empty_answer", "provider answered no page");
    if (!page.ok) {
      // The provider waits for a slot of its budget share; none in time means this run's share is spent.
      if (page.kind === "budget") throw new BudgetSpent();
      if (page.coverage === "not_on_provider" || page.coverage === "beyond_provider_window") break;
      throw new BarReadFailed(page.kind, page.message);
    }
    pages.unshift(page.bars);
    const oldest = page.bars[0];
    if (page.reachedStart || !oldest || page.bars.length < PAGE) break;
    end = oldest.bucket;
  }
  return pages.flat().filter((bar) => bar.bucket >= from && bar.bucket < to);
}
