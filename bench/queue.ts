/**
 * Queue benchmark: peakwatch's claim/complete against graphile-worker and pg-boss, each tuned and at
 * its defaults, doing the same work (docs/benchmarks.md has every setting). Two loads: a drain of
 * queued items, and a steady state whose arrival rate steps up until a system's backlog grows.
 * Every (system, run) gets a fresh database and a process of its own; the order rotates per run;
 * figures are the median of the runs with min and max.
 *
 *   npm run bench:queue                      3 runs, drain of 100,000, steady state
 *   npm run bench:queue -- --runs 1 --items 20000 --scenarios drain
 *   npm run bench:queue -- --backlog         also time backlog() at 1,000,000 queued rows
 *   npm run bench:queue -- --explain         also EXPLAIN ANALYZE claim and complete (auto_explain)
 *
 * Figures go to stdout and bench/results/queue-<timestamp>.json.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readStackSettings } from "../dev/lib/settings.ts";
import { cloneScratchDatabase, createEmptyDatabase, createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { benchBacklog } from "./queue/backlog.ts";
import { explainClaimComplete } from "./queue/explain.ts";
import type { ChildSpec, SystemSpec } from "./queue/child.ts";
import type { DrainRun, SteadyRun } from "./queue/harness.ts";
import { BATCH, CONCURRENCY } from "./queue/harness.ts";
import { formatComparison, formatRoundTrips, type SystemFigures } from "./queue/report.ts";
import { rotate, spread } from "./queue/stats.ts";

const TEMPLATE_DB = "peakwatch_bench_queue_tpl";
const RUN_DB = "peakwatch_bench_queue_run";
const LOCAL_QUEUE_SIZES = [CONCURRENCY + 1, 100, 500];

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const progress = (message: string) => console.error(`[bench:queue] ${message}`);

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    items: { type: "string", default: "100000" },
    "sweep-items": { type: "string", default: "50000" },
    "cap-s": { type: "string", default: "15" },
    "step-s": { type: "string", default: "3" },
    scenarios: { type: "string", default: "drain,steady" },
    "local-queue": { type: "string" },
    backlog: { type: "boolean", default: false },
    explain: { type: "boolean", default: false },
  },
});
const positive = (name: string, raw: string | undefined): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const RUNS = positive("runs", flags.runs);
const ITEMS = positive("items", flags.items);
const SWEEP_ITEMS = positive("sweep-items", flags["sweep-items"]);
const CAP_MS = positive("cap-s", flags["cap-s"]) * 1000;
const STEP_MS = positive("step-s", flags["step-s"]) * 1000;
const SCENARIOS = flags.scenarios!.split(",").map((s) => s.trim()).filter(Boolean);
for (const s of SCENARIOS) if (s !== "drain" && s !== "steady") throw new Error(`--scenarios: unknown ${s}`);
const STEADY = { startRate: 200, maxRate: 102_400, stepMs: STEP_MS, refine: 2 };

interface ChildAnswer<R> {
  name: string;
  settings: Record<string, string | number | boolean>;
  result: R;
}

/** Runs one (system, scenario) in a fresh database and a process of its own. */
async function runChild<R>(adminUrl: string, system: SystemSpec, scenario: ChildSpec["scenario"]): Promise<ChildAnswer<R>> {
  const url = system.kind === "peakwatch" ? await cloneScratchDatabase(adminUrl, TEMPLATE_DB, RUN_DB) : await createEmptyDatabase(adminUrl, RUN_DB);
  const spec: ChildSpec = { url, system, scenario };
  const env = { ...process.env };
  if (system.kind === "graphile" && system.localQueueSize !== null) env.NO_LOG_SUCCESS = "1";
  else delete env.NO_LOG_SUCCESS;
  try {
    return await new Promise<ChildAnswer<R>>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(benchDir, "queue", "child.ts"), JSON.stringify(spec)], {
        env,
        // stdout discarded: graphile-worker at its defaults logs a line per job there.
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      let answer: ChildAnswer<R> | undefined;
      const limit = setTimeout(() => child.kill("SIGKILL"), (scenario.kind === "drain" ? CAP_MS : 150_000) + 120_000);
      child.on("message", (message) => (answer = message as ChildAnswer<R>));
      child.on("error", reject);
      child.on("exit", (code, signal) => {
        clearTimeout(limit);
        if (answer) resolve(answer);
        else reject(new Error(`${JSON.stringify(system)} ${scenario.kind}: child exited ${signal ?? code} without an answer`));
      });
    });
  } finally {
    await dropScratchDatabase(adminUrl, RUN_DB);
  }
}

async function main(): Promise<void> {
  const { adminUrl } = readStackSettings();
  const startedAt = new Date().toISOString();
  progress(`building template database ${TEMPLATE_DB} (migrations)`);
  await createScratchDatabase(adminUrl, TEMPLATE_DB);
  const report: Record<string, unknown> = {
    startedAt,
    environment: { node: process.version, cpus: os.cpus().length, platform: `${os.platform()} ${os.release()}`, loadStart: os.loadavg()[0] },
    config: { runs: RUNS, items: ITEMS, sweepItems: SWEEP_ITEMS, capMs: CAP_MS, steady: STEADY },
  };
  const lines: string[] = [];
  try {
    // graphile-worker's localQueue size: one drain per candidate, the best is "tuned".
    let localQueueSize = flags["local-queue"] ? positive("local-queue", flags["local-queue"]) : 0;
    if (localQueueSize === 0 && SCENARIOS.length > 0) {
      const sweep: Array<{ size: number; itemsPerSecond: number }> = [];
      for (const size of LOCAL_QUEUE_SIZES) {
        progress(`sweep: graphile-worker localQueue ${size}, drain of ${SWEEP_ITEMS}`);
        const { result } = await runChild<DrainRun>(adminUrl, { kind: "graphile", localQueueSize: size }, { kind: "drain", items: SWEEP_ITEMS, capMs: CAP_MS });
        sweep.push({ size, itemsPerSecond: result.itemsPerSecond });
      }
      localQueueSize = sweep.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a)).size;
      report.localQueueSweep = sweep;
      lines.push(`graphile-worker localQueue sweep (drain of ${SWEEP_ITEMS.toLocaleString("en-US")}): ${sweep.map((s) => `${s.size} -> ${Math.round(s.itemsPerSecond).toLocaleString("en-US")} items/s`).join(", ")}; tuned uses ${localQueueSize}`);
    }

    const systems: SystemSpec[] = [
      { kind: "peakwatch" },
      { kind: "graphile", localQueueSize },
      { kind: "graphile", localQueueSize: null },
      { kind: "pgboss", tuned: true },
      { kind: "pgboss", tuned: false },
    ];

    for (const scenario of SCENARIOS) {
      const figures = new Map<string, SystemFigures & { values: number[]; raw: unknown[] }>();
      for (let r = 0; r < RUNS; r++) {
        for (const system of rotate(systems, r)) {
          progress(`${scenario} run ${r + 1}/${RUNS}: ${JSON.stringify(system)}`);
          const answer =
            scenario === "drain"
              ? await runChild<DrainRun>(adminUrl, system, { kind: "drain", items: ITEMS, capMs: CAP_MS })
              : await runChild<SteadyRun>(adminUrl, system, { kind: "steady", ...STEADY });
          const value = scenario === "drain" ? (answer.result as DrainRun).itemsPerSecond : (answer.result as SteadyRun).sustained;
          const entry = figures.get(answer.name) ?? { name: answer.name, settings: answer.settings, values: [], raw: [], partial: false, spread: spread([0]) };
          entry.values.push(value);
          entry.raw.push(answer.result);
          if (scenario === "drain" && !(answer.result as DrainRun).complete) entry.partial = true;
          if (scenario === "steady" && (answer.result as SteadyRun).producerBound) entry.producerBound = true;
          figures.set(answer.name, entry);
          progress(`  ${answer.name}: ${Math.round(value).toLocaleString("en-US")} items/s`);
        }
      }
      for (const entry of figures.values()) entry.spread = spread(entry.values);
      const title =
        scenario === "drain"
          ? `drain of ${ITEMS.toLocaleString("en-US")} queued items (items/s, first claim -> last commit; ${RUNS} runs)`
          : `steady state: highest arrival rate without a growing backlog (items/s; steps of ${STEP_MS / 1000} s from ${STEADY.startRate}, doubling, then 2 bisections; ${RUNS} runs)`;
      lines.push(...formatComparison(title, [...figures.values()], { floor: scenario === "steady" ? STEADY.startRate : undefined }));
      if (scenario === "drain") lines.push(...formatRoundTrips([...figures.values()].map((f) => ({ name: f.name, runs: f.raw as DrainRun[] }))));
      report[scenario] = [...figures.values()];
    }

    if (flags.explain) {
      progress("explain: claim and complete on a fresh database");
      const url = await cloneScratchDatabase(adminUrl, TEMPLATE_DB, RUN_DB);
      try {
        lines.push(...(await explainClaimComplete(url, ITEMS, BATCH)));
      } finally {
        await dropScratchDatabase(adminUrl, RUN_DB);
      }
    }

    if (flags.backlog) {
      progress("backlog: filling a fresh database to 1,000,000 rows");
      const url = await cloneScratchDatabase(adminUrl, TEMPLATE_DB, RUN_DB);
      try {
        const b = await benchBacklog(url, { total: 1_000_000, due: 100_000, dueNew: 10_000, calls: 50, chunk: 250_000 });
        report.backlog = b;
        lines.push(`backlog() at ${b.total.toLocaleString("en-US")} queued / ${b.due.toLocaleString("en-US")} due: p50 ${b.p50Ms.toFixed(2)} ms, p95 ${b.p95Ms.toFixed(2)} ms`);
      } finally {
        await dropScratchDatabase(adminUrl, RUN_DB);
      }
    }
  } finally {
    await dropScratchDatabase(adminUrl, TEMPLATE_DB);
  }
  (report.environment as Record<string, unknown>).loadEnd = os.loadavg()[0];
  const env = report.environment as Record<string, number | string>;
  lines.unshift(`machine: ${env.cpus} cpus, ${env.platform}, node ${env.node}; load average ${Number(env.loadStart).toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end`);
  for (const line of lines) console.log(line);
  const dir = path.join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `queue-${startedAt.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  progress(`figures written to ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
