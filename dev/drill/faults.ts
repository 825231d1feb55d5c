/**
 * `npm run drill` — issue 13's fault drill against `npm start` (SIMULATED upstream; a running suite
 * is used, else the drill starts one and stops it at the end). Each fault class in turn: wait for
 * health to pass, inject, time until health (with the service key) is non-pass, fix, time until it
 * is pass again. Then a clean stretch sampling health every ~10 s counts false alarms. Prints a
 * table and a JSON summary; exits 1 when a class misses the bar (non-pass within 2 min of onset,
 * pass within 3 min of the fix) or the clean stretch saw a non-pass reading.
 *
 *   npm run drill -- [--only tracker-stopped,poller-stopped] [--clean-minutes 30] [--under-load]
 *                    [--load-class schema-drift] [--load-rate 200] [--load-seconds 120] [--baseline-seconds 420]
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { percentile } from "../../bench/cpu/report.ts";
import { flood } from "../../bench/health-load/flood.ts";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { readStackSettings } from "../lib/settings.ts";
import {
  DRILL_CREDENTIAL_ENV,
  type DrillContext,
  FAULT_CLASSES,
  type FaultClass,
  prepareSilentSource,
  removeDrillRows,
  retireSilentSource,
} from "./fault-classes.ts";
import { type ClassResult, type CleanSample, countFalseAlarms, DETECT_BAR_MS, type FaultClassId, RECOVER_BAR_MS, selectClasses, summary, table, tripped, verdict } from "./faults-lib.ts";
import { type HealthView, readHealth, setFault, sleep } from "./outage-lib.ts";
import { findOrStartSuite } from "./suite.ts";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    "clean-minutes": { type: "string", default: "30" },
    "under-load": { type: "boolean", default: false },
    "load-class": { type: "string", default: "schema-drift" },
    "load-rate": { type: "string", default: "200" },
    "load-seconds": { type: "string", default: "120" },
    "baseline-seconds": { type: "string", default: "420" },
  },
});
const options = z.object({
  classes: z.array(z.string()),
  cleanMinutes: z.coerce.number().min(0).max(240),
  underLoad: z.boolean(),
  loadClass: z.string(),
  loadRate: z.coerce.number().int().min(1).max(1_000),
  loadSeconds: z.coerce.number().int().min(60).max(600),
  baselineSeconds: z.coerce.number().int().min(30).max(3_600),
}).parse({
  classes: selectClasses(args.only),
  cleanMinutes: args["clean-minutes"],
  underLoad: args["under-load"],
  loadClass: args["load-class"],
  loadRate: args["load-rate"],
  loadSeconds: args["load-seconds"],
  baselineSeconds: args["baseline-seconds"],
});
const loadClass = selectClasses(options.loadClass)[0]!;

const POLL_MS = 5_000;
const CLEAN_SAMPLE_MS = 10_000;
/** How long a class is watched past its bar before it is called "never". */
const DETECT_WATCH_MS = DETECT_BAR_MS + 120_000;
const RECOVER_WATCH_MS = RECOVER_BAR_MS + 120_000;
const simUrl = `http://127.0.0.1:${process.env.MARKET_SIM_PORT ?? "54330"}`;
const log = (message: string) => console.log(`[drill ${new Date().toISOString().slice(11, 19)}] ${message}`);

const sql = createSql(readStackSettings().dbUrl, { max: 2, applicationName: "peakwatch-drill" });
const suite = await findOrStartSuite(() => sql, DRILL_CREDENTIAL_ENV, log);
const ctx: DrillContext = { sql, simUrl, functionsUrl: suite.functionsUrl, serviceKey: suite.serviceKey, log };
const health = () => readHealth(suite.functionsUrl, suite.serviceKey);

let current: FaultClass | null = null;
async function cleanUp() {
  if (current?.cleanup) await current.cleanup(ctx).catch((error: Error) => log(`cleanup of ${current?.id}: ${error.message}`));
  await setFault(simUrl, "dexscreener", "none").catch(() => {});
  await removeDrillRows(ctx);
  await suite.stop();
  await sql.end({ timeout: 1 });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

/** Polls health from `from` until `done(view)` or `ms` pass; answers the elapsed ms and the view, or null. */
async function watchUntil(from: number, ms: number, done: (view: HealthView | null) => boolean): Promise<{ elapsedMs: number; view: HealthView | null } | { elapsedMs: null; view: HealthView | null }> {
  let last: HealthView | null = null;
  while (Date.now() - from < ms) {
    const view = await health();
    last = view ?? last;
    if (done(view)) return { elapsedMs: Date.now() - from, view };
    await sleep(POLL_MS);
  }
  return { elapsedMs: null, view: last };
}

/** Waits until health passes (up to --baseline-seconds); answers what was still not pass. */
async function baseline(label: string): Promise<string[]> {
  const seen = await watchUntil(Date.now(), options.baselineSeconds * 1000, (view) => view?.status === "pass");
  if (seen.elapsedMs === null) {
    const still = seen.view?.nonPass ?? ["health did not answer"];
    log(`${label}: health not pass after ${options.baselineSeconds} s: ${still.join(", ")}`);
    return still;
  }
  return [];
}

async function runClass(id: FaultClassId): Promise<ClassResult> {
  const fault = FAULT_CLASSES[id];
  const result: ClassResult = { id, title: fault.title, watch: fault.watch, detectMs: null, tripped: [], recoverMs: null, stillNonPass: [], statusChanged: false, baselineNonPass: [] };
  current = fault;
  try {
    const skipped = await fault.setup?.(ctx);
    if (typeof skipped === "string") return { ...result, skipped };
    result.baselineNonPass = await baseline(id);
    log(`${id}: injecting — ${fault.title}`);
    const onset = (await fault.inject(ctx)) ?? Date.now();
    const detected = await watchUntil(onset, DETECT_WATCH_MS, (view) => {
      if (fault.watch.kind === "reading" && view && view.status !== "pass") result.statusChanged = true;
      return tripped(fault.watch, view);
    });
    result.detectMs = detected.elapsedMs;
    result.tripped = detected.view?.nonPass ?? ["health did not answer"];
    log(`${id}: non-pass after ${detected.elapsedMs === null ? "never" : `${Math.round(detected.elapsedMs / 1000)} s`} (${result.tripped.join(", ") || "-"}); fixing`);
    await fault.fix(ctx);
    const fixedAt = Date.now();
    const recovered = await watchUntil(fixedAt, RECOVER_WATCH_MS, (view) => {
      if (fault.watch.kind === "reading" && view && view.status !== "pass") result.statusChanged = true;
      return view?.status === "pass" && !tripped(fault.watch, view);
    });
    result.recoverMs = recovered.elapsedMs;
    if (recovered.elapsedMs === null) result.stillNonPass = recovered.view?.nonPass ?? ["health did not answer"];
    log(`${id}: pass after ${recovered.elapsedMs === null ? "never" : `${Math.round(recovered.elapsedMs / 1000)} s`} — ${verdict(result)}`);
    return result;
  } finally {
    await fault.cleanup?.(ctx).catch((error: Error) => log(`cleanup of ${id}: ${error.message}`));
    current = null;
  }
}

/**
 * The load generator of bench:health-load (public /health, open loop) for --load-seconds; one class
 * is injected 20 s into the flood, timed to non-pass while the flood goes on, then fixed.
 */
async function underLoad(): Promise<Record<string, unknown>> {
  log(`under load: ${options.loadRate} req/s of public /health for ${options.loadSeconds} s; ${loadClass} injected 20 s in`);
  const fault = FAULT_CLASSES[loadClass];
  current = fault;
  try {
    await fault.setup?.(ctx);
    const baselineNonPass = await baseline(`${loadClass} under load`);
    const started = Date.now();
    const load = flood(`${suite.functionsUrl}/functions/v1/health`, options.loadRate, options.loadSeconds);
    await sleep(20_000);
    const onset = (await fault.inject(ctx)) ?? Date.now();
    const detected = await watchUntil(onset, DETECT_WATCH_MS, (view) => tripped(fault.watch, view));
    const detectedWhileFlooding = Date.now() - started <= options.loadSeconds * 1000;
    await fault.fix(ctx);
    const { latencies, statuses, maxInFlight } = await load;
    const figures = {
      faultClass: loadClass,
      rate: options.loadRate,
      seconds: options.loadSeconds,
      requests: latencies.length,
      achievedPerSecond: Math.round(latencies.length / options.loadSeconds),
      answers: Object.fromEntries(statuses),
      maxInFlight,
      p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
      p95Ms: Math.round(percentile(latencies, 95) * 10) / 10,
      p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
      detectSeconds: detected.elapsedMs === null ? null : Math.round(detected.elapsedMs / 1000),
      detectedWhileFlooding,
      tripped: detected.view?.nonPass ?? [],
      baselineNonPass,
      met: detected.elapsedMs !== null && detected.elapsedMs <= DETECT_BAR_MS && detectedWhileFlooding && baselineNonPass.length === 0,
    };
    log(`under load: ${loadClass} non-pass after ${figures.detectSeconds ?? "never"} s (${figures.tripped.join(", ")}); ` +
      `${figures.requests} requests (${figures.achievedPerSecond}/s), p50 ${figures.p50Ms} ms, p95 ${figures.p95Ms} ms, answers ${JSON.stringify(figures.answers)}`);
    return figures;
  } finally {
    await fault.cleanup?.(ctx).catch(() => {});
    current = null;
  }
}

async function cleanStretch() {
  log(`clean stretch: ${options.cleanMinutes} min, health every ${CLEAN_SAMPLE_MS / 1000} s`);
  const startedAt = Date.now();
  const samples: CleanSample[] = [];
  while (Date.now() - startedAt < options.cleanMinutes * 60_000) {
    const view = await health();
    samples.push({ atMs: Date.now() - startedAt, view });
    if (view?.status !== "pass") log(`clean stretch: ${view?.status ?? "unreachable"} — ${(view?.nonPass ?? ["health did not answer"]).join(", ")}`);
    await sleep(CLEAN_SAMPLE_MS);
  }
  return countFalseAlarms(samples, options.cleanMinutes, startedAt);
}

let exitCode = 1;
try {
  if (options.classes.includes("silent-source")) await prepareSilentSource(ctx);
  log(`warm-up: waiting for health to pass (up to ${options.baselineSeconds} s)`);
  await baseline("warm-up");
  const results: ClassResult[] = [];
  for (const id of options.classes as FaultClassId[]) results.push(await runClass(id));
  await retireSilentSource(ctx);
  const load = options.underLoad ? await underLoad() : null;
  let clean = null;
  if (options.cleanMinutes > 0) {
    // Warm-up for the clean stretch: the last class's fix settles first.
    await baseline("clean stretch warm-up");
    clean = await cleanStretch();
  }
  console.log(`\n== fault drill (${suite.started ? "suite started by the drill" : "running suite"}) ==`);
  console.log(table(results));
  if (clean) {
    console.log(`\nclean stretch: ${clean.samples} samples over ${clean.minutes} min, ${clean.nonPass.length} non-pass`);
    for (const alarm of clean.nonPass) console.log(`  ${alarm.at} ${alarm.status}: ${alarm.readings.join(", ")}`);
  }
  const report = summary(results, clean, load ? { underLoad: load } : {});
  const loadMet = load === null || load.met === true;
  console.log(JSON.stringify({ ...report, met: report.met && loadMet }));
  exitCode = report.met && loadMet ? 0 : 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);
