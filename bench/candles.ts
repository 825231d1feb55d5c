/**
 * Candle store benchmark: builds peakwatch_bench_candles with `--rows` 15m candles (default
 * 50,000,000: ceil(rows / 35,040) instruments × 365 days, monthly partitions), then runs each section
 * against it and prints figures. Run with `npm run bench:candles [-- --rows 5000000] [--keep] [--reuse]`;
 * figures also go to bench/results/candles-<timestamp>.json. Needs the stack's Postgres (`npm run stack`).
 */
import "./local-dev.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { databaseUrl, readStackSettings } from "../dev/lib/settings.ts";
import { createSql } from "../supabase/functions/_shared/db/client.ts";
import { type CandleFillResult, fillCandles } from "./candles/fill.ts";
import { readSection } from "./candles/read.ts";
import type { CandleBenchSection } from "./candles/section.ts";
import { storeSection } from "./candles/store.ts";
import { backfillSection } from "./candles/backfill.ts";

const DB_NAME = "peakwatch_bench_candles";
const DAYS = 365;

/**
 * The sections, in order. Reads run before writes so they see the filled table as filled.
 * Last, the collector's backfill bars/s against the provider's ceiling (bench/candles/backfill.ts, real time).
 */
export const SECTIONS: CandleBenchSection[] = [readSection, storeSection, backfillSection];

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const progress = (message: string) => console.error(`[bench:candles] ${message}`);

/** The shape of a database filled earlier (for --reuse). */
async function describeFill(url: string): Promise<CandleFillResult> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ instruments: string; rows: string; from: Date; to: Date; partitions: string }[]>`
      select (select count(*) from peakwatch.instruments where symbol like 'BenchPool%') as instruments,
             (select sum(c.reltuples)::bigint from pg_inherits h join pg_class c on c.oid = h.inhrelid where h.inhparent = 'peakwatch.candles'::regclass) as rows,
             (select min(backfill_target) from peakwatch.candle_streams) as "from",
             (select max(last_closed_bucket) from peakwatch.candle_streams) as "to",
             (select count(*) from pg_inherits where inhparent = 'peakwatch.candles'::regclass) as partitions`;
    return { instruments: Number(row!.instruments), streams: Number(row!.instruments), rows: Number(row!.rows), from: new Date(row!.from), to: new Date(row!.to), partitions: Number(row!.partitions), seconds: 0 };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: "string", default: "50000000" }, keep: { type: "boolean" }, reuse: { type: "boolean" } } });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < DAYS * 96 || rows > 500_000_000) throw new Error(`--rows must be an integer from ${DAYS * 96} to 500000000 (got ${values.rows})`);
  const { adminUrl } = readStackSettings();
  const keep = values.keep || values.reuse;
  const startedAt = new Date().toISOString();
  const url = values.reuse ? databaseUrl(adminUrl, DB_NAME) : (progress(`creating database ${DB_NAME} and applying migrations`), await createScratchDatabase(adminUrl, DB_NAME));
  const sql = createSql(url, { max: 3, applicationName: "peakwatch-bench-candles" });
  try {
    const fill = values.reuse ? await describeFill(url) : await fillCandles(url, { rows, days: DAYS }, progress);
    const lines = [
      `candles: ${fill.rows.toLocaleString("en-US")} rows (${fill.instruments.toLocaleString("en-US")} instruments × 15m, ${fill.partitions} monthly partitions)` +
        (fill.seconds ? `, filled in ${fill.seconds.toFixed(0)} s (${Math.round(fill.rows / fill.seconds).toLocaleString("en-US")} rows/s, INSERT … SELECT generate_series, 2 connections)` : ", reused"),
    ];
    const figures: Record<string, unknown> = {};
    for (const section of SECTIONS) {
      progress(`section: ${section.name}`);
      const result = await section.run({ sql, url, adminUrl, fill, to: fill.to, progress });
      lines.push(...result.lines);
      figures[section.name] = result.figures;
    }
    for (const line of lines) console.log(line);
    const dir = path.join(benchDir, "results");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `candles-${startedAt.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify({ startedAt, environment: { node: process.version, cpus: os.cpus().length }, fill, figures }, null, 2)}\n`);
    progress(`figures written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await sql.end({ timeout: 1 });
    if (!keep) await dropScratchDatabase(adminUrl, DB_NAME);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
