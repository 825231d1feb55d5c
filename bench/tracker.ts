/**
 * Tracker benchmark: 20,000 tokens on the market simulator (enforcing DexScreener's 300 and
 * GeckoTerminal's 30 requests/min) in the mix call groups post (bonding-curve, graduated, null-price,
 * absurd-cap, poison, quote-side, rugged and never-listed beside ordinary tokens; printed), all inserted into peakwatch.tokens at once, drained by 4 concurrent trackers
 * sharing one Redis limiter, while new tokens keep arriving at 2/s. Measures tokens priced per
 * minute against the provider ceiling (300 req/min x 30 addresses), 429s, and seconds from insert
 * to first price for the streamed tokens. Run with `npm run bench:tracker`; figures go to stdout
 * and bench/results/tracker-<timestamp>.json (tracker log lines to the matching .log file).
 *
 * Settings follow production: the tracker's defaults, overridable with the same TRACKER_BATCH_SIZE
 * the deployed function reads; BENCH_TRACKER_CHAIN_PER_TRACKER=1 pins tracker i to chain i.
 */
import "./local-dev.ts";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { MarketSimulator } from "../dev/market-sim/server.ts";
import { readStackSettings } from "../dev/lib/settings.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db/client.ts";
import { providerLimits } from "../supabase/functions/_shared/limits/gcra.ts";
import { createRedis, type Redis } from "../supabase/functions/_shared/limits/redis.ts";
import { sleep } from "../supabase/functions/_shared/limits/sleep.ts";
import { defaultTrackerSettings, type TrackerSettings } from "../supabase/functions/_shared/tracker/run-tracker.ts";
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { type Fleet, type Invocation, startFleet, totalStats } from "./tracker/fleet.ts";
import {
  backlogSpecs,
  CHAINS,
  DEXSCREENER_ADDRESSES_PER_REQUEST,
  DEXSCREENER_REQUESTS_PER_MINUTE,
  GECKOTERMINAL_REQUESTS_PER_MINUTE,
  mixOf,
  simCounts,
  startBenchMarket,
} from "./tracker/market.ts";
import {
  endState,
  firstPricingsBetween,
  lastFirstPricing,
  pricedInRange,
  summarize,
  timesToFirstPrice,
  unpricedCount,
  type IdRange,
} from "./tracker/measure.ts";
import {
  COMBINED_AIM,
  formatReport,
  P95_AIM_S,
  P95_TARGET_S,
  RATIO_TARGET,
  type Report,
  resultPath,
  type TimelineSample,
  writeReport,
} from "./tracker/report.ts";
import { type Stream, startStream } from "./tracker/stream.ts";

const DB_NAME = "peakwatch_bench_tracker";
const SEED = 2026;
const BACKLOG = 20_000;
const PUMP_SHARE = 0.2;
const TRACKERS = 4;
const TIME_BUDGET_MS = 55_000;
const STREAM_PER_SECOND = 2;
const DRAIN_CAP_MS = 6 * 60_000;
/** After the backlog: new tokens against a queue full of due refreshes (priority 1). */
const AFTER_DRAIN_MS = 60_000;
/** After the stream stops: time for the last arrivals to be priced before the trackers stop. */
const TAIL_MS = 15_000;
const SAMPLE_MS = 1_000;
const TOTAL_LIMIT_MS = 10 * 60_000;

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const progress = (message: string) => process.stderr.write(`[bench:tracker] ${message}\n`);

function trackerSettings(): Partial<TrackerSettings> {
  const raw = process.env.TRACKER_BATCH_SIZE;
  if (raw === undefined) return {};
  const batchSize = Number(raw);
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 1_000)) throw new Error(`TRACKER_BATCH_SIZE must be 1..1000, got ${raw}`);
  return { batchSize };
}

/** The tracker logs one JSON line per batch; they go to a file so the report stays readable. */
function captureTrackerLogs(file: string): { lines(): number; restore(): Promise<void> } {
  const out = createWriteStream(file);
  const original = { log: console.log, error: console.error };
  let lines = 0;
  const route =
    (fallback: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === "string" && args[0].startsWith('{"ts":')) {
        lines += 1;
        out.write(`${args[0]}\n`);
      } else fallback(...args);
    };
  console.log = route(original.log);
  console.error = route(original.error);
  return {
    lines: () => lines,
    restore: () =>
      new Promise<void>((resolve) => {
        console.log = original.log;
        console.error = original.error;
        out.end(resolve);
      }),
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

/** Linear interpolation of a sampled counter at time `s` (seconds since the trackers started). */
function counterAt(timeline: TimelineSample[], s: number, pick: (sample: TimelineSample) => number): number {
  const before = timeline.filter((sample) => sample.s <= s).at(-1);
  const after = timeline.find((sample) => sample.s >= s);
  if (!before) return after ? pick(after) : 0;
  if (!after || after.s === before.s) return pick(before);
  return pick(before) + ((pick(after) - pick(before)) * (s - before.s)) / (after.s - before.s);
}

/** Tokens marked dead, by simulated kind: only rugged ones may be (a live token marked dead is a wrong value). */
async function deadByKind(sql: Sql, sim: MarketSimulator): Promise<Record<string, number>> {
  const key = (chain: string, address: string) => `${chain}:${address.startsWith("0x") ? address.toLowerCase() : address}`;
  const kindOf = new Map(sim.tokens().map((token) => [key(token.chain, token.address), token.kind]));
  const dead = await sql<{ chain: string; address: string }[]>`select chain, address from peakwatch.tokens where status = 'dead'`;
  const counts: Record<string, number> = {};
  for (const row of dead) {
    const kind = kindOf.get(key(row.chain, row.address)) ?? "unknown";
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

async function main(): Promise<void> {
  const { adminUrl, redisUrl } = readStackSettings();
  const startedAt = new Date().toISOString();
  const keyPrefix = `bench:tracker:${randomBytes(4).toString("hex")}:`;
  const settings = trackerSettings();
  const chainPerTracker = process.env.BENCH_TRACKER_CHAIN_PER_TRACKER === "1";
  const effectiveSettings = { ...defaultTrackerSettings, ...settings };
  const allLimits = providerLimits(`${keyPrefix}limits:`);
  const limits = allLimits.dexscreener;
  const redis = createRedis(redisUrl);
  const logs = captureTrackerLogs(resultPath(benchDir, startedAt, "log"));

  let sim: MarketSimulator | undefined;
  let sql: Sql | undefined;
  let fleet: Fleet | undefined;
  let stream: Stream | undefined;
  let cleaned: Promise<void> | undefined;
  // Idempotent: the normal path and the watchdog may both get here.
  const cleanup = () =>
    (cleaned ??= (async () => {
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["stream", async () => stream?.stop()],
        ["trackers", async () => fleet?.stop()],
        ["pool", async () => sql?.end({ timeout: 2 })],
        ["simulator", async () => sim?.close()],
        ["database", () => dropScratchDatabase(adminUrl, DB_NAME)],
        ["redis keys", () => deleteKeys(redis, keyPrefix)],
        ["logs", () => logs.restore()],
      ];
      for (const [name, step] of steps) {
        await step().catch((error: unknown) => progress(`cleanup ${name}: ${error instanceof Error ? error.message : String(error)}`));
      }
      redis.disconnect();
    })());

  // The whole run is bounded: past the limit everything is torn down and the process exits.
  const watchdog = setTimeout(() => {
    progress(`still running after ${TOTAL_LIMIT_MS / 60_000} minutes; giving up`);
    void cleanup().finally(() => process.exit(2));
  }, TOTAL_LIMIT_MS);
  watchdog.unref();

  try {
    progress(`simulator: ${BACKLOG} tokens on ${CHAINS.join("/")}, DexScreener limit ${DEXSCREENER_REQUESTS_PER_MINUTE}/min`);
    const specs = backlogSpecs(BACKLOG, SEED);
    const mix = mixOf(specs);
    // never-listed tokens are checked, never priced: the drain is over when every other one is
    const priceable = BACKLOG - (mix.never_listed ?? 0);
    progress(`mix: ${Object.entries(mix).map(([kind, n]) => `${kind} ${n}`).join(", ")}`);
    sim = await startBenchMarket(SEED, specs);
    const universe = sim.tokens().slice(0, BACKLOG);

    progress(`creating database ${DB_NAME} and applying migrations`);
    const dbUrl = await createScratchDatabase(adminUrl, DB_NAME);
    sql = createSql(dbUrl, { max: 3, applicationName: "bench-tracker" });
    const [server] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    const version = server!.version;

    progress(`inserting ${BACKLOG} tokens (queued at priority 0 by the trigger)`);
    const ids = await sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address)
      select * from unnest(${universe.map((t) => t.chain)}::text[], ${universe.map((t) => t.address)}::text[])
      returning id`;
    const backlog: IdRange = { lo: Math.min(...ids.map((r) => r.id)), hi: Math.max(...ids.map((r) => r.id)) };
    if (ids.length !== BACKLOG || backlog.hi - backlog.lo + 1 !== BACKLOG) throw new Error("backlog ids are not one contiguous range");

    const loadStart = os.loadavg()[0]!.toFixed(2);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const timeline: TimelineSample[] = [];
    const trackersStarted = Date.now();
    const sample = async (): Promise<number> => {
      const [priced, counts] = await Promise.all([pricedInRange(sql!, backlog), simCounts(sim!)]);
      timeline.push({
        s: (Date.now() - trackersStarted) / 1000,
        backlogPriced: priced,
        dexscreenerRequests: counts.dexscreener.requests,
        dexscreenerRateLimited: counts.dexscreener.rateLimited,
        geckoterminalRequests: counts.geckoterminal.requests,
      });
      return priced;
    };
    const say = (priced: number) => {
      const last = timeline.at(-1)!;
      progress(`${last.s.toFixed(0)} s: backlog ${priced}/${priceable} priced, dexscreener ${last.dexscreenerRequests} requests, ${last.dexscreenerRateLimited} x 429, geckoterminal ${last.geckoterminalRequests} requests`);
    };

    progress(`starting ${TRACKERS} trackers (budget ${TIME_BUDGET_MS / 1000} s, back to back) and ${STREAM_PER_SECOND} new tokens/s`);
    timeline.push({ s: 0, backlogPriced: 0, dexscreenerRequests: 0, dexscreenerRateLimited: 0, geckoterminalRequests: 0 });
    const baseline = await simCounts(sim);
    if (baseline.dexscreener.requests !== 0) throw new Error("simulator saw requests before the trackers started");
    fleet = startFleet({
      dbUrl,
      redisUrl,
      keyPrefix,
      sim,
      trackers: TRACKERS,
      timeBudgetMs: TIME_BUDGET_MS,
      settings,
      chainsFor: chainPerTracker ? (i) => [CHAINS[i % CHAINS.length]!] : undefined,
    });
    stream = startStream({ sim, sql, perSecond: STREAM_PER_SECOND, seed: SEED + 1, pumpShare: PUMP_SHARE });

    let priced = 0;
    for (let n = 1; priced < priceable && Date.now() - trackersStarted < DRAIN_CAP_MS; n++) {
      await sleep(SAMPLE_MS);
      priced = await sample();
      if (n % 10 === 0) say(priced);
    }
    const complete = priced >= priceable;
    say(priced);
    if (complete) {
      progress(`backlog drained; ${AFTER_DRAIN_MS / 1000} s more of new tokens against due refreshes`);
      const until = Date.now() + AFTER_DRAIN_MS;
      for (let n = 1; Date.now() < until; n++) {
        await sleep(SAMPLE_MS);
        const p = await sample();
        if (n % 10 === 0) say(p);
      }
    }
    const streamed = await stream.stop();
    stream = undefined;
    const streamIds = streamed.arrivals.map((a) => a.id);
    const tailUntil = Date.now() + TAIL_MS;
    while (Date.now() < tailUntil && (await unpricedCount(sql, streamIds)) > 0) await sleep(250);
    const invocations: Invocation[] = await fleet.stop();
    fleet = undefined;
    loop.disable();
    await sample();
    const totalSeconds = (Date.now() - trackersStarted) / 1000;

    // The drain ends with the last backlog token's first price (the tracker's observation time).
    const drainEndS = complete ? (await lastFirstPricing(sql, backlog))! : trackersStarted / 1000 + timeline.at(-1)!.s;
    const drainSeconds = drainEndS - trackersStarted / 1000;
    const firstPricings = await firstPricingsBetween(sql, trackersStarted / 1000 - 1, drainEndS);
    const dexRequests = counterAt(timeline, drainSeconds, (s) => s.dexscreenerRequests);
    const geckoRequests = counterAt(timeline, drainSeconds, (s) => s.geckoterminalRequests);
    const ceilingPerMinute = DEXSCREENER_REQUESTS_PER_MINUTE * DEXSCREENER_ADDRESSES_PER_REQUEST;
    const combinedRequestsPerMinute = DEXSCREENER_REQUESTS_PER_MINUTE + GECKOTERMINAL_REQUESTS_PER_MINUTE;
    const combinedCeilingPerMinute = combinedRequestsPerMinute * DEXSCREENER_ADDRESSES_PER_REQUEST;
    const pricedPerMinute = firstPricings / (drainSeconds / 60);

    const firstPrices = await timesToFirstPrice(sql, streamIds);
    const duringDrain = firstPrices.filter((f) => f.createdAt <= drainEndS);
    const afterDrain = firstPrices.filter((f) => f.createdAt > drainEndS);
    const sim1 = await simCounts(sim);
    const stats = totalStats(invocations);

    const report: Report = {
      startedAt,
      environment: {
        node: process.version,
        postgres: version,
        cpus: os.cpus().length,
        platform: `${os.platform()} ${os.release()}`,
        loadStart,
        loadEnd: os.loadavg()[0]!.toFixed(2),
      },
      config: {
        backlog: BACKLOG,
        priceable,
        mix,
        chains: [...CHAINS],
        pumpShare: PUMP_SHARE,
        trackers: TRACKERS,
        timeBudgetMs: TIME_BUDGET_MS,
        settings: { ...effectiveSettings, failPolicy: undefined },
        chainPerTracker,
        limiter: { ratePerMinute: limits.ratePerMinute, burst: limits.burst },
        geckoLimiter: { ratePerMinute: allLimits.geckoterminal.ratePerMinute, burst: allLimits.geckoterminal.burst },
        simulatorLimitPerMinute: DEXSCREENER_REQUESTS_PER_MINUTE,
        simulatorGeckoLimitPerMinute: GECKOTERMINAL_REQUESTS_PER_MINUTE,
        streamPerSecond: STREAM_PER_SECOND,
        drainCapMs: DRAIN_CAP_MS,
        afterDrainMs: AFTER_DRAIN_MS,
      },
      drain: {
        complete,
        backlogPriced: priced,
        seconds: drainSeconds,
        firstPricings,
        pricedPerMinute,
        ceilingPerMinute,
        ratio: pricedPerMinute / ceilingPerMinute,
        combinedCeilingPerMinute,
        combinedRatio: pricedPerMinute / combinedCeilingPerMinute,
        dexscreenerRequests: Math.round(dexRequests),
        geckoterminalRequests: Math.round(geckoRequests),
        requestsPerMinute: dexRequests / (drainSeconds / 60),
        geckoRequestsPerMinute: geckoRequests / (drainSeconds / 60),
        budgetUse: (dexRequests + geckoRequests) / (drainSeconds / 60) / combinedRequestsPerMinute,
        addressesPerRequest: firstPricings / Math.max(1, dexRequests + geckoRequests),
      },
      rateLimited: {
        simulatorDexscreener: sim1.dexscreener.rateLimited,
        simulatorGeckoterminal: sim1.geckoterminal.rateLimited,
        trackers: stats.rateLimited,
      },
      timeToFirstPrice: {
        all: summarize(firstPrices.map((f) => f.seconds)),
        duringDrain: summarize(duringDrain.map((f) => f.seconds)),
        afterDrain: summarize(afterDrain.map((f) => f.seconds)),
      },
      stream: { arrivals: streamed.arrivals.length, errors: streamed.errors.length, lateTicks: streamed.late, firstErrors: streamed.errors.slice(0, 3) },
      totals: {
        seconds: totalSeconds,
        invocations: invocations.length,
        invocationErrors: invocations.flatMap((i) => (i.error ? [`${i.worker}: ${i.error}`] : [])),
        stats,
        simulator: sim1,
      },
      endState: await endState(sql),
      deadByKind: await deadByKind(sql, sim),
      eventLoopDelayMs: { mean: loop.mean / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      trackerLogLines: logs.lines(),
      pass: { ratio: false, no429: false, p95: false, combined: false, p95Aim: false },
      timeline,
    };
    const p95 = report.timeToFirstPrice.all.p95;
    report.pass = {
      ratio: complete && report.drain.ratio >= RATIO_TARGET,
      no429: report.rateLimited.simulatorDexscreener + report.rateLimited.simulatorGeckoterminal + report.rateLimited.trackers === 0,
      p95: p95 !== null && p95 < P95_TARGET_S,
      combined: complete && report.drain.combinedRatio >= COMBINED_AIM,
      p95Aim: p95 !== null && p95 < P95_AIM_S,
    };

    const file = resultPath(benchDir, startedAt, "json");
    writeReport(file, report);
    for (const line of formatReport(report)) process.stdout.write(`${line}\n`);
    progress(`figures written to ${path.relative(process.cwd(), file)} (${report.trackerLogLines} tracker log lines in the .log beside it)`);
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
