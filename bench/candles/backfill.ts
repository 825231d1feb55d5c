import { randomBytes } from "node:crypto";
import { addPoolStreams, simPools, storeTruth } from "../../dev/drill/candles-lib.ts";
import { OhlcvHistory } from "../../dev/market-sim/ohlcv.ts";
import { startMarketSimulator } from "../../dev/market-sim/server.ts";
import { readStackSettings } from "../../dev/lib/settings.ts";
import { runCandles } from "../../supabase/functions/_shared/candles/collect.ts";
import { defaultCalendarFor, geckoLanes } from "../../supabase/functions/_shared/candles/deps.ts";
import { timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import type { CandleBenchContext, CandleBenchSection } from "./section.ts";

const POOLS = Number(process.env.BENCH_BACKFILL_POOLS ?? 20);
const DAYS = Number(process.env.BENCH_BACKFILL_DAYS ?? 30);
/** GeckoTerminal's public limit is 30/min: the budget runs 1 below it, as deployed. */
const PER_MINUTE = Number(process.env.BENCH_BACKFILL_PER_MINUTE ?? 29);
const DAY = 86_400_000;

/**
 * The collector's backfill through the GeckoTerminal budget against the simulator (real time):
 * POOLS pools × 15m back DAYS days, into the filled 50M-row table. The provider's ceiling is
 * calls/min × 1000 bars a call; backfill alone borrows every idle share, so it may reach it.
 */
export const backfillSection: CandleBenchSection = {
  name: "backfill",
  async run(ctx: CandleBenchContext) {
    const sim = await startMarketSimulator({ seed: 42, tokens: { perChain: 30 }, limits: { geckoterminal: PER_MINUTE + 1 } });
    const redis = createRedis(readStackSettings().redisUrl);
    const keyPrefix = `bench:${randomBytes(4).toString("hex")}:`;
    const history = new OhlcvHistory(42);
    // The filled streams are not on the simulator: parked while this section runs.
    const parked = await ctx.sql<{ id: number }[]>`update peakwatch.candle_streams set enabled = false where enabled returning id`;
    try {
      const pools = sim.tokens().filter((t) => t.listAtMs === 0 && history.bornAt(t) <= -(DAYS + 1) * DAY).slice(0, POOLS);
      const size = timeframeMs("15m");
      const target = new Date(Math.floor((Date.now() - DAYS * DAY) / size) * size);
      const streams = await addPoolStreams(ctx.sql, simPools(pools), ["15m"], { backfillTarget: target });
      const ids = streams.map((s) => s.streamId);
      ctx.progress(`backfill: ${ids.length} pools × 15m × ${DAYS} days at ${PER_MINUTE} calls/min (real time)`);
      const started = Date.now();
      const lanes = geckoLanes(redis, { baseUrl: sim.geckoterminalUrl, keyPrefix, perMinute: PER_MINUTE });
      const stats: Record<string, number> = {};
      for (let round = 0; round < 100; round++) {
        const [left] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from peakwatch.candle_streams where id = any(${ids}::bigint[]) and backfill_done_at is null`;
        if (left!.n === 0) break;
        const run = await runCandles({ sql: ctx.sql, owner: "bench-backfill", providers: { geckoterminal: lanes }, calendarFor: defaultCalendarFor, timeBudgetMs: 30_000, signal: new AbortController().signal });
        for (const [key, value] of Object.entries(run)) stats[key] = (stats[key] ?? 0) + value;
      }
      const seconds = (Date.now() - started) / 1000;
      const truth = await storeTruth(ctx.sql, ids);
      const ceiling = (PER_MINUTE * 1000) / 60;
      const barsPerSecond = truth.bars / seconds;
      await ctx.sql`delete from peakwatch.instruments where id in (select instrument_id from peakwatch.candle_streams where id = any(${ids}::bigint[]))`;
      return {
        lines: [
          `backfill: ${ids.length} pools × 15m × ${DAYS} days = ${truth.bars.toLocaleString("en-US")} bars in ${seconds.toFixed(0)} s with ${stats.calls ?? 0} GeckoTerminal calls (${stats.backfillPages ?? 0} backfill pages, ${stats.incremental ?? 0} first fetches) → ${barsPerSecond.toFixed(0)} bars/s; provider ceiling ${PER_MINUTE} calls/min × 1000 bars = ${ceiling.toFixed(0)} bars/s (${((barsPerSecond / ceiling) * 100).toFixed(0)} %); holes ${truth.holes}`,
        ],
        figures: { pools: ids.length, days: DAYS, perMinute: PER_MINUTE, bars: truth.bars, seconds, calls: stats.calls ?? 0, barsPerSecond, ceilingBarsPerSecond: ceiling, holes: truth.holes },
      };
    } finally {
      await ctx.sql`update peakwatch.candle_streams set enabled = true where id = any(${parked.map((p) => p.id)}::bigint[])`;
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await sim.close();
    }
  },
};
