/**
 * `npm run drill:candles` — the collector's acceptance runs, in real time on one clock (the wall
 * clock: Postgres now(), the functions under Deno and the market simulator all read it; the
 * simulator's candles come from the same random walk as its spot prices). SIMULATED data.
 *
 * Its own scratch database, simulator and functions server (ephemeral ports; no `npm start` needed):
 *  1. steady: --pools (90) pools × 1m and 5m for --minutes (20), the candles function invoked every
 *     minute as pg_cron would (async, 202); during it, one stream is stopped (freshness) and the
 *     collector is stopped for --outage-minutes (repair time against the budget arithmetic).
 *     At the end: missing closed bars, duplicates, and what re-running every fetch changes.
 *  2. backfill: --backfill-pools (20) × 15m to --backfill-days (30) in a separate collector process,
 *     SIGKILLed mid-way and restarted; holes, and bars/s against the budget's ceiling.
 *
 *   npm run drill:candles -- [--minutes 20] [--pools 90] [--outage-minutes 3] [--sections steady,backfill]
 */
import "../../bench/local-dev.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { z } from "zod";
import { GECKO_SHARES } from "../../supabase/functions/_shared/limits/budget.ts";
import { createSql, type Sql } from "../../supabase/functions/_shared/db/client.ts";
import { lateBars } from "../../supabase/functions/_shared/health/checks/candles.ts";
import { loadHealthConfig } from "../../supabase/functions/_shared/health/config.ts";
import { type Timeframe, timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { startFunctionsServer } from "../lib/functions-server.ts";
import { freePort } from "../lib/ports.ts";
import { createScratchDatabase, dropScratchDatabase } from "../lib/scratch-database.ts";
import { readStackSettings } from "../lib/settings.ts";
import { OhlcvHistory } from "../market-sim/ohlcv.ts";
import { startMarketSimulator } from "../market-sim/server.ts";
import { addPoolStreams, makeDue, simPools, storeTruth } from "./candles-lib.ts";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "20" },
    pools: { type: "string", default: "90" },
    "outage-minutes": { type: "string", default: "3" },
    "backfill-pools": { type: "string", default: "20" },
    "backfill-days": { type: "string", default: "30" },
    "backfill-per-minute": { type: "string", default: "29" },
    "steady-per-minute": { type: "string", default: "300" },
    sections: { type: "string", default: "steady,backfill" },
    keep: { type: "boolean", default: false },
  },
});
const options = z.object({
  minutes: z.coerce.number().min(4).max(240),
  pools: z.coerce.number().int().min(1).max(100),
  outageMinutes: z.coerce.number().min(0).max(60),
  backfillPools: z.coerce.number().int().min(1).max(100),
  backfillDays: z.coerce.number().min(1).max(170),
  backfillPerMinute: z.coerce.number().int().min(2).max(10_000),
  steadyPerMinute: z.coerce.number().int().min(2).max(10_000),
  sections: z.string().transform((s) => s.split(",")).pipe(z.array(z.enum(["steady", "backfill"])).min(1)),
  keep: z.boolean(),
}).parse({
  ...args, outageMinutes: args["outage-minutes"], backfillPools: args["backfill-pools"], backfillDays: args["backfill-days"],
  backfillPerMinute: args["backfill-per-minute"], steadyPerMinute: args["steady-per-minute"],
});

const MINUTE = 60_000;
const DB = "peakwatch_drill_candles";
const log = (message: string) => console.error(`[drill:candles ${new Date().toISOString().slice(11, 19)}] ${message}`);
const report: string[] = [];
const out = (line: string) => {
  report.push(line);
  console.error(line);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

const settings = readStackSettings();
const serviceKey = `drill-${randomBytes(12).toString("hex")}`;
log(`scratch database ${DB} (migrations applied by the Supabase CLI)`);
const dbUrl = await createScratchDatabase(settings.adminUrl, DB);
const sql = createSql(dbUrl, { max: 3, applicationName: "peakwatch-drill-candles" });
const sim = await startMarketSimulator({ seed: 42, tokens: { perChain: 30 }, limits: { geckoterminal: options.steadyPerMinute + 1 } });
const history = new OhlcvHistory(42);
const cleanups: Array<() => Promise<unknown>> = [() => sim.close(), () => sql.end({ timeout: 1 })];

try {
  if (options.sections.includes("steady")) await steady();
  if (options.sections.includes("backfill")) await backfill();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  if (!options.keep) await dropScratchDatabase(settings.adminUrl, DB);
  console.log(`\n${report.join("\n")}`);
}

/** Streams' closed bars missing past the health grace, as health counts them (lateBars). */
async function lateness(streamIds: number[]): Promise<Map<number, number>> {
  const graceMs = loadHealthConfig({}).candles.graceSeconds * 1000;
  const rows = await sql<{ id: number; calendar: string; timeframe: Timeframe; last_closed_bucket: Date | null; created_at: Date }[]>`
    select s.id, i.calendar, s.timeframe, s.last_closed_bucket, s.created_at from peakwatch.candle_streams s
    join peakwatch.instruments i on i.id = s.instrument_id where s.id = any(${streamIds}::bigint[])`;
  const now = new Date();
  return new Map(rows.map((row) => [Number(row.id), lateBars(
    { calendar: row.calendar, timeframe: row.timeframe, lastClosedBucket: row.last_closed_bucket ? new Date(row.last_closed_bucket) : null, firstBucket: new Date(row.created_at) },
    now, graceMs) ?? 99]));
}

/** Streams whose newest stored closed bar is not the last closed bucket. */
async function behind(): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from peakwatch.candle_streams s
    where s.enabled and (s.last_closed_bucket is null or s.last_closed_bucket < peakwatch.candle_bucket(s.timeframe, now()) - peakwatch.candle_timeframe_interval(s.timeframe))
      and s.due_at < now() + interval '1 hour'`;
  return row!.n;
}

async function steady(): Promise<void> {
  const perMinute = options.steadyPerMinute - 1;
  const port = await freePort();
  const keyPrefix = `drill:${randomBytes(4).toString("hex")}:`;
  const functions = await startFunctionsServer({
    SUPABASE_URL: `http://127.0.0.1:${port}`, SUPABASE_DB_URL: dbUrl, SUPABASE_SERVICE_ROLE_KEY: serviceKey, REDIS_URL: settings.redisUrl,
    PEAKWATCH_LOCAL_DEV: "1", PEAKWATCH_REDIS_PREFIX: keyPrefix, GECKOTERMINAL_BASE_URL: sim.geckoterminalUrl, DEXSCREENER_BASE_URL: sim.url,
    GECKOTERMINAL_CALLS_PER_MINUTE: String(perMinute), CANDLES_BATCH_SIZE: "20",
  }, port);
  cleanups.push(() => functions.stop());
  const post = (body: unknown) =>
    fetch(`${functions.url}/candles`, { method: "POST", headers: { Authorization: `Bearer ${serviceKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  const tokens = sim.tokens().filter((t) => t.listAtMs === 0 && t.kind !== "never_listed").slice(0, options.pools);
  const timeframes: Timeframe[] = ["1m", "5m"];
  const streams = await addPoolStreams(sql, simPools(tokens), timeframes);
  const ids = streams.map((s) => s.streamId);
  log(`steady: ${tokens.length} pools × ${timeframes.join(", ")} = ${ids.length} streams for ${options.minutes} min; GeckoTerminal budget ${perMinute}/min (simulator limit ${options.steadyPerMinute})`);

  let paused = false;
  let invocations = 0;
  let refused = 0;
  const cron = async () => {
    if (paused) return;
    invocations++;
    const response = await post({ async: true, trigger: "cron", timeBudgetMs: 55_000 }).catch(() => null);
    if (response?.status !== 202) refused++;
    await response?.body?.cancel();
  };
  // pg_cron fires at the top of each minute; this stands in for it (the scratch database is not the cron database).
  await cron();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => void cron().finally(schedule), MINUTE - (Date.now() % MINUTE) + 500);
  };
  schedule();
  cleanups.push(async () => clearTimeout(timer));
  const startedAt = Date.now();
  const at = (minute: number) => startedAt + minute * MINUTE;

  // Freshness: one 1m stream stops being collected (its lease held for a day) at minute 3.
  const stopped = streams.find((s) => s.timeframe === "1m")!.streamId;
  const others = ids.filter((id) => id !== stopped);
  await sleep(Math.max(0, at(3) - Date.now()));
  await sql`update peakwatch.candle_streams set due_at = now() + interval '1 day', lease_until = now() + interval '1 day', lease_owner = 'drill-stopped' where id = ${stopped}`;
  const stoppedAt = Date.now();
  let nonPassAfter: number | null = null;
  let othersRed = 0;
  let othersWorst = 0;
  while (Date.now() - stoppedAt < 5 * MINUTE) {
    const late = await lateness(ids);
    if (nonPassAfter === null && (late.get(stopped) ?? 0) >= 1) nonPassAfter = Date.now() - stoppedAt;
    const worst = Math.max(...others.map((id) => late.get(id) ?? 0));
    othersWorst = Math.max(othersWorst, worst);
    if (worst >= 2) othersRed++;
    if (nonPassAfter !== null && Date.now() - stoppedAt > 3 * MINUTE) break;
    await sleep(5_000);
  }
  await sql`update peakwatch.candle_streams set due_at = now(), lease_until = null, lease_owner = null where id = ${stopped}`;

  // Outage: the collector stops for --outage-minutes, then pg_cron fires it again.
  let repair: { ms: number | null; callsNeeded: number } = { ms: null, callsNeeded: 0 };
  if (options.outageMinutes > 0) {
    await sleep(Math.max(0, at(9) - Date.now()));
    log(`outage: the collector stops for ${options.outageMinutes} min`);
    paused = true;
    // A run already going finishes its time budget: the outage starts when it is done.
    await sleep(60_000 + options.outageMinutes * MINUTE);
    repair.callsNeeded = await behind();
    paused = false;
    const resumedAt = Date.now();
    await cron();
    while (Date.now() - resumedAt < 15 * MINUTE) {
      const truth = await storeTruth(sql, ids);
      if ((await behind()) === 0 && truth.holes === 0 && truth.openGaps === 0) {
        repair.ms = Date.now() - resumedAt;
        break;
      }
      await sleep(2_000);
    }
  }

  await sleep(Math.max(0, at(options.minutes) - Date.now()));
  paused = true;
  // The end of the run: the runs still going finish, then one more (the next tick's) catches up.
  for (let i = 0; i < 90; i++) {
    const [going] = await sql<{ n: number }[]>`select count(*)::int as n from peakwatch.runs where function_name = 'candles' and outcome = 'running' and started_at > now() - interval '2 minutes'`;
    if (going!.n === 0) break;
    await sleep(1_000);
  }
  await makeDue(sql, ids);
  await (await post({ maxSteps: ids.length, timeBudgetMs: 60_000 })).json();
  const truth = await storeTruth(sql, ids);
  const late = await lateness(ids);
  const missing = [...late.values()].filter((n) => n > 0).length;
  // Re-running every fetch: each cursor goes back 5 bars and every stream is fetched again.
  await sql`update peakwatch.candle_streams set last_closed_bucket = last_closed_bucket - 5 * peakwatch.candle_timeframe_interval(timeframe) where id = any(${ids}::bigint[])`;
  await makeDue(sql, ids);
  const refetch = (await (await post({ maxSteps: ids.length, timeBudgetMs: 120_000 })).json()) as { stats: Record<string, number> };
  const [runs] = await sql<{ n: number; partial: number; errors: number; calls: number; failed: number }[]>`
    select count(*)::int as n, count(*) filter (where outcome = 'partial')::int as partial, count(*) filter (where outcome = 'error')::int as errors,
           coalesce(sum((counts->>'calls')::int), 0)::int as calls, coalesce(sum((counts->>'failed')::int), 0)::int as failed
    from peakwatch.runs where function_name = 'candles'`;
  const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as { endpoints: Record<string, { requests: number; rateLimited: number }> };
  const incrementalShare = (perMinute * GECKO_SHARES.incremental.share) / Object.values(GECKO_SHARES).reduce((sum, s) => sum + s.share, 0);

  out(`## candles drill — steady (real time, wall clock shared by Postgres, Deno functions and the simulator; SIMULATED data)`);
  out(`streams        ${ids.length} (${tokens.length} pools × 1m, 5m) for ${options.minutes} min; ${invocations} cron-style invocations (${refused} not 202); runs ${runs!.n} (${runs!.partial} partial, ${runs!.errors} error), ${runs!.calls} provider calls, ${runs!.failed} failed`);
  out(`simulator      ohlcv ${stats.endpoints["geckoterminal.ohlcv"]?.requests ?? 0} requests, ${stats.endpoints["geckoterminal.ohlcv"]?.rateLimited ?? 0} × 429`);
  out(`missing        after the last tick: ${missing} streams missing a closed bar older than the health grace; ${truth.holes} closed bars missing between each stream's first and last bar (target 0)`);
  out(`duplicates     ${truth.duplicates} (target 0); bars stored ${truth.bars}, synthetic ${truth.synthetic}, gaps found ${truth.gapsFound} / repaired ${truth.gapsRepaired}, open ${truth.openGaps}`);
  out(`refetch        every stream 5 closed bars back + the forming bar: stored rows changed ${(refetch.stats.revised ?? 0) + (refetch.stats.filled ?? 0)} (revised ${refetch.stats.revised ?? 0}, filled ${refetch.stats.filled ?? 0}; target 0), unchanged ${refetch.stats.unchanged ?? 0}; new bars that closed meanwhile ${refetch.stats.inserted ?? 0}, forming bars updated ${refetch.stats.updated ?? 0}`);
  out(`freshness      stream ${stopped} (1m) stopped: non-pass after ${nonPassAfter === null ? "never" : seconds(nonPassAfter)} (limit 2 bars + 1 min = 180 s); other streams: worst ${othersWorst} late bar(s), ${othersRed} readings at fail (target 0)`);
  if (options.outageMinutes > 0) {
    const budgetMinutes = repair.callsNeeded / incrementalShare;
    out(`outage         ${options.outageMinutes} min + the last run's budget: ${repair.callsNeeded} streams behind = calls needed; incremental share ${incrementalShare.toFixed(1)}/min (of ${perMinute}/min, idle shares lent) → ${budgetMinutes.toFixed(2)} min by the budget; repaired in ${repair.ms === null ? "not within 15 min" : seconds(repair.ms)} (limit ${(budgetMinutes + 2).toFixed(2)} min)`);
  }
}

async function backfill(): Promise<void> {
  const keyPrefix = `drill:${randomBytes(4).toString("hex")}:`;
  const perMinute = options.backfillPerMinute;
  const old = sim.tokens().filter((t) => t.listAtMs === 0 && history.bornAt(t) <= -(options.backfillDays + 1) * 86_400_000).slice(-options.backfillPools);
  const size = timeframeMs("15m");
  const target = new Date(Math.floor((Date.now() - options.backfillDays * 86_400_000) / size) * size);
  await sql`update peakwatch.candle_streams set enabled = false`;
  const streams = await addPoolStreams(sql, simPools(old), ["15m"], { backfillTarget: target });
  const ids = streams.map((s) => s.streamId);
  log(`backfill: ${ids.length} pools × 15m to ${target.toISOString()} (${options.backfillDays} days), GeckoTerminal budget ${perMinute}/min, in a separate collector process`);
  const spawnWorker = (): ChildProcess =>
    spawn(process.execPath, ["--import", "tsx", "dev/drill/candles-worker.ts"], {
      env: { ...process.env, DRILL_DB_URL: dbUrl, REDIS_URL: settings.redisUrl, GECKOTERMINAL_BASE_URL: sim.geckoterminalUrl, PEAKWATCH_REDIS_PREFIX: keyPrefix, GECKOTERMINAL_CALLS_PER_MINUTE: String(perMinute) },
      stdio: ["ignore", "ignore", "inherit"],
    });
  const progress = async () => {
    const [row] = await sql<{ done: number; pages_rows: number }[]>`
      select count(*) filter (where backfill_done_at is not null)::int as done, coalesce(sum(bars_written), 0)::int as pages_rows
      from peakwatch.candle_streams where id = any(${ids}::bigint[])`;
    return row!;
  };
  const startedAt = Date.now();
  let worker = spawnWorker();
  // kill -9 once about a third of the expected bars are in.
  const expectedBars = ids.length * Math.round((Date.now() - target.getTime()) / size);
  while ((await progress()).pages_rows < expectedBars / 3) await sleep(500);
  worker.kill("SIGKILL");
  const killedAt = await progress();
  log(`kill -9 of the collector with ${killedAt.pages_rows} bars written, ${killedAt.done} streams done`);
  const killedMs = Date.now();
  // The dead collector's leases (120 s) expire on their own; the restarted one takes those streams then.
  const [held] = await sql<{ n: number }[]>`select count(*)::int as n from peakwatch.candle_streams where id = any(${ids}::bigint[]) and lease_until > now()`;
  worker = spawnWorker();
  cleanups.push(async () => worker.kill("SIGTERM"));
  let idleMs = 0;
  let last = killedAt.pages_rows;
  let lastChange = killedMs;
  while ((await progress()).done < ids.length && Date.now() - startedAt < 30 * MINUTE) {
    await sleep(1_000);
    const now = (await progress()).pages_rows;
    if (now !== last) {
      if (Date.now() - lastChange > 10_000) idleMs += Date.now() - lastChange;
      last = now;
      lastChange = Date.now();
    }
  }
  const elapsed = Date.now() - startedAt;
  worker.kill("SIGTERM");
  const truth = await storeTruth(sql, ids);
  const covered = await sql<{ id: number; backfill_cursor: Date; coverage_reason: string | null }[]>`
    select id, backfill_cursor, coverage_reason from peakwatch.candle_streams where id = any(${ids}::bigint[])`;
  const reached = covered.filter((row) => new Date(row.backfill_cursor).getTime() <= target.getTime()).length;
  const ceiling = (perMinute * 1000) / 60;
  out(`## candles drill — backfill (real time)`);
  out(`backfill       ${ids.length} pools × 15m × ${options.backfillDays} days: ${truth.bars} bars in ${seconds(elapsed)} including one kill -9 (${held!.n} leases held by the dead collector, waited out: ${seconds(idleMs)}) = ${(truth.bars / (elapsed / 1000)).toFixed(0)} bars/s overall, about ${(truth.bars / ((elapsed - idleMs) / 1000)).toFixed(0)} bars/s while collecting (stalls over 10 s taken out)`);
  out(`               ceiling ${perMinute} calls/min × 1000 bars = ${ceiling.toFixed(0)} bars/s for the whole budget (backfill alone borrows every idle share); ${reached}/${ids.length} streams reached the target, coverage reasons: ${[...new Set(covered.map((r) => r.coverage_reason ?? "none"))].join(", ")}`);
  out(`               holes ${truth.holes} (target 0), duplicates ${truth.duplicates}, open gaps ${truth.openGaps}`);
}
