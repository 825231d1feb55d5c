/**
 * Health benchmark: builds peakwatch_bench_health (1,000,000 tokens, 100,000 due rows, 1,000,000
 * runs, 1,000,000 calls, and `--candle-rows` candles, default 50,000,000, with their streams), then times the health evaluation the endpoint and the orchestrator run —
 * every check, concurrently on a pool of 3 like the function's — and each area alone.
 * Run with `npm run bench:health`; figures go to stdout and bench/results/health-<timestamp>.json.
 * `-- --keep` leaves the database in place afterwards and `-- --reuse` times an existing one again;
 * `-- --candle-rows 0` leaves the candle store empty (its checks then only leave a note).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { databaseUrl, readStackSettings } from "../dev/lib/settings.ts";
import { createSql } from "../supabase/functions/_shared/db/client.ts";
import { credentialChecks } from "../supabase/functions/_shared/health/checks/credentials.ts";
import { freshnessChecks } from "../supabase/functions/_shared/health/checks/freshness.ts";
import { invocationChecks } from "../supabase/functions/_shared/health/checks/invocations.ts";
import { pipelineChecks } from "../supabase/functions/_shared/health/checks/pipeline.ts";
import { queueChecks } from "../supabase/functions/_shared/health/checks/queue.ts";
import { runChecks } from "../supabase/functions/_shared/health/checks/runs.ts";
import { sourceChecks } from "../supabase/functions/_shared/health/checks/sources.ts";
import { candleChecks } from "../supabase/functions/_shared/health/checks/candles.ts";
import { loadHealthConfig } from "../supabase/functions/_shared/health/config.ts";
import { evaluateHealth } from "../supabase/functions/_shared/health/evaluate.ts";
import type { AreaResult, CheckContext } from "../supabase/functions/_shared/health/reading.ts";
import { createRedis } from "../supabase/functions/_shared/limits/redis.ts";
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { parseArgs } from "node:util";
import { fillCandles } from "./candles/fill.ts";
import { fill, rowCounts } from "./health/fill.ts";
import { time, type Timing } from "./health/measure.ts";

const DB_NAME = "peakwatch_bench_health";
const SHAPE = { tokens: 1_000_000, due: 100_000, dueNew: 10_000, runs: 1_000_000, calls: 1_000_000, invocations: 100_000, sources: 10 };
const ITERATIONS = 200;
const TARGET_P95_MS = 50;
const TOTAL_LIMIT_MS = 20 * 60_000;
/** Health never reads candles, only candle_streams: the rows are there to show it does not matter. */
const CANDLE_DAYS = 365;
/** The issue's target for the evaluation with the candle store full. */
const CANDLES_TARGET_P95_MS = 20;

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const progress = (message: string) => console.error(`[bench:health] ${message}`);
const ms = (t: Timing) => `p50 ${t.p50Ms.toFixed(2)} ms, p95 ${t.p95Ms.toFixed(2)} ms, max ${t.maxMs.toFixed(2)} ms`;

const AREAS: Array<[string, (ctx: CheckContext) => Promise<AreaResult>]> = [
  ["runs", runChecks],
  ["queue", queueChecks],
  ["tokens (freshness)", freshnessChecks],
  ["pipeline (calls, copycats, parse failures)", pipelineChecks],
  ["sources", sourceChecks],
  ["invocations", invocationChecks],
  ["credentials", credentialChecks],
  ["candles", candleChecks],
];

/** Candle rows (planner estimate after VACUUM ANALYZE: an exact count of 50M rows is what health must never do) and streams. */
async function candleCounts(url: string): Promise<Record<string, number>> {
  const sql = createSql(url, { max: 1 });
  try {
    const [row] = await sql<{ candles: number; candle_streams: number }[]>`
      select coalesce((select sum(c.reltuples)::bigint from pg_inherits h join pg_class c on c.oid = h.inhrelid
                       where h.inhparent = 'peakwatch.candles'::regclass and c.reltuples > 0), 0) as candles,
             (select count(*) from peakwatch.candle_streams) as candle_streams`;
    return { candles: row!.candles, candle_streams: row!.candle_streams };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<void> {
  const { adminUrl, redisUrl } = readStackSettings();
  const { values } = parseArgs({ options: { keep: { type: "boolean" }, reuse: { type: "boolean" }, "candle-rows": { type: "string", default: "50000000" } } });
  const keep = Boolean(values.keep || values.reuse);
  const reuse = Boolean(values.reuse);
  const candleRows = Number(values["candle-rows"]);
  if (!Number.isInteger(candleRows) || candleRows < 0 || candleRows > 500_000_000) throw new Error(`--candle-rows must be an integer from 0 to 500000000 (got ${values["candle-rows"]})`);
  // filling candles runs at roughly 200,000 rows/s here; give it time on a busier machine
  const limitMs = TOTAL_LIMIT_MS + (reuse ? 0 : Math.ceil(candleRows / 50_000) * 1000);
  const watchdog = setTimeout(() => {
    progress(`still running after ${Math.round(limitMs / 60_000)} minutes; giving up`);
    void (keep ? Promise.resolve() : dropScratchDatabase(adminUrl, DB_NAME)).finally(() => process.exit(2));
  }, limitMs);
  watchdog.unref();

  const startedAt = new Date().toISOString();
  const url = reuse ? databaseUrl(adminUrl, DB_NAME) : (progress(`creating database ${DB_NAME} and applying migrations`), await createScratchDatabase(adminUrl, DB_NAME));
  const sql = createSql(url, { max: 3, applicationName: "peakwatch-bench-health" });
  const redis = createRedis(redisUrl);
  try {
    const filling = Date.now();
    // candles first: the token and queue figures are relative to now and should not drift while they fill
    const candles = !reuse && candleRows > 0 ? await fillCandles(url, { rows: candleRows, days: CANDLE_DAYS }, progress) : null;
    if (!reuse) await fill(url, SHAPE, progress);
    const fillSeconds = (Date.now() - filling) / 1000;
    const counts = { ...(await rowCounts(url)), ...(await candleCounts(url)) };
    const config = loadHealthConfig({ HEALTH_CACHE_MS: "0" });

    progress(`timing the whole evaluation ${ITERATIONS} times`);
    const first = await evaluateHealth({ sql, redis, config });
    const whole = await time(() => evaluateHealth({ sql, redis, config }), ITERATIONS, 20);
    const areas: Record<string, Timing> = {};
    for (const [name, run] of AREAS) {
      progress(`timing ${name} alone`);
      areas[name] = await time(() => run({ sql, redis, config, time: new Date().toISOString() }), 50, 5);
    }

    const lines = [
      `rows: ${Object.entries(counts).map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ")} (filled in ${fillSeconds.toFixed(0)} s)`,
      `health evaluation (${first.checks.length} checks, status ${first.status}), ${ITERATIONS} runs: ${ms(whole)} (target p95 < ${TARGET_P95_MS} ms; with candles, < ${CANDLES_TARGET_P95_MS} ms)`,
      ...Object.entries(areas).map(([name, t]) => `  ${name.padEnd(44)} ${ms(t)}`),
      ...first.notes.map((note) => `  note: ${note}`),
      `not graded for speed here: ${first.checks.filter((c) => c.status !== "pass").map((c) => `${c.name}${c.componentId ? `#${c.componentId}` : ""}=${c.status}`).join(", ")}`,
    ];
    for (const line of lines) console.log(line);

    const report = {
      startedAt,
      environment: { node: process.version, cpus: os.cpus().length, platform: `${os.platform()} ${os.release()}` },
      shape: { ...SHAPE, candleRows, candleDays: CANDLE_DAYS },
      candles,
      counts,
      evaluation: whole,
      areas,
      checks: first.checks.map(({ output: _output, ...check }) => check),
      notes: first.notes,
    };
    const dir = path.join(benchDir, "results");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `health-${startedAt.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    progress(`figures written to ${path.relative(process.cwd(), file)}`);
    if (whole.p95Ms >= TARGET_P95_MS) process.exitCode = 1;
  } finally {
    redis.disconnect();
    await sql.end({ timeout: 1 });
    if (!keep) await dropScratchDatabase(adminUrl, DB_NAME);
    clearTimeout(watchdog);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
