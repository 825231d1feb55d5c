import { handleCandlesRead } from "../../supabase/functions/_shared/candles/read-http.ts";
import { readCandles } from "../../supabase/functions/_shared/candles/sql/read.ts";
import { time, type Timing } from "../health/measure.ts";
import type { CandleBenchContext, CandleBenchSection } from "./section.ts";

const ITERATIONS = 500;
const TARGET_P95_MS = 100;
const DAY = 86_400_000;
const FIFTEEN_MINUTES = 15 * 60_000;
const KEY = "bench-candles-read-key-000000";

const ms = (t: Timing) => `p50 ${t.p50Ms.toFixed(2)} ms, p95 ${t.p95Ms.toFixed(2)} ms, max ${t.maxMs.toFixed(2)} ms`;

/**
 * 24 h of 15m bars (96) for a random filled instrument and a random day of its history: through
 * the SQL function candles(), and through the HTTP read in-process (parse, key, JSON).
 */
export const readSection: CandleBenchSection = {
  name: "read 24 h of 15m bars",
  async run({ sql, fill, progress }: CandleBenchContext) {
    const [{ first }] = await sql<{ first: number }[]>`select min(id) as first from peakwatch.instruments where symbol like 'BenchPool%'` as unknown as [{ first: number }];
    const span = fill.to.getTime() - fill.from.getTime() - DAY;
    const pick = () => {
      const instrument = first + Math.floor(Math.random() * fill.instruments);
      const from = new Date(fill.from.getTime() + Math.floor((Math.random() * span) / FIFTEEN_MINUTES) * FIFTEEN_MINUTES);
      return { instrument, from, to: new Date(from.getTime() + DAY) };
    };
    let bars = 0;
    progress(`read: ${ITERATIONS} random 24 h windows through candles()`);
    const direct = await time(async () => {
      const { instrument, from, to } = pick();
      bars = (await readCandles(sql, instrument, "15m", from, to)).length;
    }, ITERATIONS, 20);
    progress(`read: ${ITERATIONS} random 24 h windows through handleCandlesRead`);
    const http = await time(async () => {
      const { instrument, from, to } = pick();
      const url = `http://bench/functions/v1/candles?instrument=${instrument}&timeframe=15m&from=${from.toISOString()}&to=${to.toISOString()}`;
      const response = await handleCandlesRead(new Request(url, { headers: { Authorization: `Bearer ${KEY}` } }), { sql, keys: [KEY] });
      if (response.status !== 200) throw new Error(`read answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    }, ITERATIONS, 20);
    return {
      lines: [
        `read 24 h of 15m bars (${bars} bars) at ${fill.rows.toLocaleString("en-US")} rows, random instrument and day, ${ITERATIONS} reads each:`,
        `  candles() SQL function:           ${ms(direct)} (target p95 < ${TARGET_P95_MS} ms)`,
        `  GET through handleCandlesRead:    ${ms(http)}`,
      ],
      figures: { direct, http, targetP95Ms: TARGET_P95_MS, passed: direct.p95Ms < TARGET_P95_MS },
    };
  },
};
