/**
 * CPU per invocation and memory per isolate, under the project's deno (the hosted version, with
 * dev/deno.json's import map, as the tests run it):
 * - CPU: a warm Deno process invokes the tracker (a batch of 90), the poller (a feed page of 100)
 *   and health (an evaluation over 1,000,000 tokens) through their handlers; p95 of 20 runs each
 *   against hosted Edge Functions' 2 s CPU limit, bar 200 ms.
 * - Memory: a fresh Deno process serves tracker invocations until 20,000 tokens are priced, with
 *   RSS and heap sampled every second.
 * The market simulator runs in this Node process, so its CPU is never counted against Deno.
 *
 *   npm run bench:cpu                        everything (builds the 1M-token health database)
 *   npm run bench:cpu -- --health-db NAME    reuse a filled database (bench:health -- --keep leaves one)
 *   npm run bench:cpu -- --skip-memory | --skip-cpu
 */
import "./local-dev.ts";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { denoBin, denoEnv } from "../dev/lib/deno.ts";
import { startMarketSimulator } from "../dev/market-sim/server.ts";
import { databaseUrl, readStackSettings } from "../dev/lib/settings.ts";
import { cloneScratchDatabase, createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db/client.ts";
import { createRedis } from "../supabase/functions/_shared/limits/redis.ts";
import type { CpuConfig, CpuSamples, MemorySample } from "./cpu/config.ts";
import { formatCpu, formatMemory } from "./cpu/report.ts";
import { fill } from "./health/fill.ts";
import { backlogSpecs } from "./tracker/market.ts";

const DB = "peakwatch_bench_cpu";
const MEMORY_DB = "peakwatch_bench_cpu_memory";
const HEALTH_DB = "peakwatch_bench_cpu_health";
const HEALTH_SHAPE = { tokens: 1_000_000, due: 100_000, dueNew: 10_000, runs: 1_000_000, calls: 1_000_000, invocations: 100_000, sources: 10 };
const SEED = 2027;
const TRACKER_BATCH = 90;
const POLLER_PAGE = 100;
const RUNS = 20;
const WARMUP = 3;
const MEMORY_TOKENS = 20_000;
const SOURCE = "bench-feed";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.dirname(benchDir);
const progress = (message: string) => console.error(`[bench:cpu] ${message}`);

const { values: flags } = parseArgs({
  options: {
    "health-db": { type: "string" },
    "skip-memory": { type: "boolean", default: false },
    "skip-cpu": { type: "boolean", default: false },
  },
});

/** Not spawnSync: the simulator lives in this process and must keep answering while deno runs. */
async function deno(script: string, config: CpuConfig, extra: string[] = []): Promise<void> {
  const child = spawn(
    denoBin,
    // --allow-all: Deno grants reads of /proc/self (the CPU source on 2.1.4) to nothing less.
    ["run", "--config", path.join(repoRoot, "dev", "deno.json"), "--allow-all", ...extra, path.join("bench", "cpu", script)],
    {
      cwd: repoRoot,
      env: denoEnv({ NO_COLOR: "1", BENCH_CPU_CONFIG: JSON.stringify(config) }),
      // The functions log one JSON line per event to stdout, as deployed; the bench does not need them.
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const limit = setTimeout(() => child.kill("SIGKILL"), 15 * 60_000);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  clearTimeout(limit);
  if (code !== 0) throw new Error(`deno ${script} exited ${code ?? signal}`);
}

async function insertTokens(sql: Sql, tokens: Array<{ chain: string; address: string }>): Promise<void> {
  await sql`
    insert into peakwatch.tokens (chain, address)
    select * from unnest(${tokens.map((t) => t.chain)}::text[], ${tokens.map((t) => t.address)}::text[])`;
}

async function main(): Promise<void> {
  const { adminUrl, redisUrl } = readStackSettings();
  const startedAt = new Date().toISOString();
  const invocations = WARMUP + RUNS;
  const cpuTokens = invocations * TRACKER_BATCH;
  const feedTokens = invocations * POLLER_PAGE;
  const specs = backlogSpecs(cpuTokens + feedTokens + MEMORY_TOKENS, SEED);
  const sim = await startMarketSimulator({
    port: 0,
    host: "127.0.0.1",
    seed: SEED,
    tokens: { chains: ["solana", "ethereum", "base", "bsc"], perChain: 0, extra: specs },
    limits: { dexscreenerTokens: 60_000, windowMs: 60_000 },
    feed: { everyMs: 0 },
  });
  const universe = sim.tokens().slice(0, specs.length);
  const keyPrefix = `bench:cpu:${randomBytes(4).toString("hex")}:`;
  const resultFile = path.join(os.tmpdir(), `bench-cpu-${process.pid}.json`);
  const healthDb = flags["health-db"] ?? HEALTH_DB;
  const report: Record<string, unknown> = { startedAt, environment: { node: process.version, cpus: os.cpus().length, loadStart: os.loadavg()[0] } };
  const lines: string[] = [];
  const redis = createRedis(redisUrl);
  try {
    progress(`creating ${DB} (migrations) and ${MEMORY_DB}`);
    const dbUrl = await createScratchDatabase(adminUrl, DB);
    const memoryDbUrl = await cloneScratchDatabase(adminUrl, DB, MEMORY_DB);
    const sql = createSql(dbUrl, { max: 1, applicationName: "bench-cpu-setup" });
    try {
      await insertTokens(sql, universe.slice(0, cpuTokens));
      await sql`
        insert into peakwatch.sources (name, kind, config, enabled, poll_interval_seconds)
        values (${SOURCE}, 'http_feed', ${sql.json({ url: sim.feedUrl, pageSize: POLLER_PAGE, maxPages: 1 })}, true, 60)`;
      // One page per poll: every page holds calls of tokens nobody has seen yet.
      sim.addFeedCalls(
        universe.slice(cpuTokens, cpuTokens + feedTokens).map((t, i) => ({ chain: t.chain, token_address: t.address, symbol: `B${i}`, group: "bench", price_usd: 0.01 })),
      );
      await sql`vacuum analyze peakwatch.tokens, peakwatch.queue`;
    } finally {
      await sql.end({ timeout: 1 });
    }
    const memorySql = createSql(memoryDbUrl, { max: 1, applicationName: "bench-cpu-setup" });
    try {
      await insertTokens(memorySql, universe.slice(cpuTokens + feedTokens));
      await memorySql`vacuum analyze peakwatch.tokens, peakwatch.queue`;
    } finally {
      await memorySql.end({ timeout: 1 });
    }

    let healthDbUrl = databaseUrl(adminUrl, healthDb);
    if (!flags["skip-cpu"] && !flags["health-db"]) {
      progress(`creating ${HEALTH_DB} and filling it (1,000,000 tokens; a few minutes)`);
      healthDbUrl = await createScratchDatabase(adminUrl, HEALTH_DB);
      await fill(healthDbUrl, HEALTH_SHAPE, progress);
    }

    const config: CpuConfig = {
      dbUrl,
      healthDbUrl,
      memoryDbUrl,
      redisUrl,
      simUrl: sim.url,
      geckoterminalUrl: sim.geckoterminalUrl,
      keyPrefix,
      serviceKey: randomBytes(24).toString("hex"),
      sourceName: SOURCE,
      trackerBatch: TRACKER_BATCH,
      pollerPage: POLLER_PAGE,
      warmup: WARMUP,
      runs: RUNS,
      memoryTokens: MEMORY_TOKENS,
      resultFile,
    };

    if (!flags["skip-cpu"]) {
      progress(`CPU: ${WARMUP} warm-up + ${RUNS} measured invocations each, one warm deno process`);
      await deno("deno-invocations.ts", config);
      const samples = JSON.parse(readFileSync(resultFile, "utf8")) as CpuSamples;
      // A CPU source that is not implemented answers zeros; a bar passed that way would be a lie.
      if ([...samples.tracker, ...samples.poller, ...samples.health].every((ms) => ms === 0)) throw new Error("deno reported no CPU time at all: no working CPU source");
      const check = createSql(dbUrl, { max: 1, applicationName: "bench-cpu-check" });
      try {
        const [row] = await check<{ priced: number; calls: number }[]>`
          select (select count(*)::int from peakwatch.tokens where last_checked_at is not null) as priced,
                 (select count(*)::int from peakwatch.calls) as calls`;
        report.work = row;
        if (row!.calls !== feedTokens) throw new Error(`poller stored ${row!.calls} calls, expected ${feedTokens}`);
      } finally {
        await check.end({ timeout: 1 });
      }
      report.cpu = samples;
      lines.push(...formatCpu(samples, { trackerBatch: TRACKER_BATCH, pollerPage: POLLER_PAGE, healthTokens: HEALTH_SHAPE.tokens }));
    }

    if (!flags["skip-memory"]) {
      progress(`memory: one deno process serving tracker invocations until ${MEMORY_TOKENS.toLocaleString("en-US")} tokens are priced`);
      await deno("deno-memory.ts", config, ["--v8-flags=--expose-gc"]);
      const samples = JSON.parse(readFileSync(resultFile, "utf8")) as MemorySample[];
      report.memory = samples;
      lines.push(...formatMemory(samples, MEMORY_TOKENS));
    }
  } finally {
    rmSync(resultFile, { force: true });
    await sim.close();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await dropScratchDatabase(adminUrl, DB);
    await dropScratchDatabase(adminUrl, MEMORY_DB);
    if (!flags["health-db"]) await dropScratchDatabase(adminUrl, HEALTH_DB);
  }
  for (const line of lines) console.log(line);
  const dir = path.join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `cpu-${startedAt.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  progress(`figures written to ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
