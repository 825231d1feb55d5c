/**
 * Runs under the real deno binary (started by bench/cpu.ts): one warm process stands in for an
 * isolate. Each workload goes through its function's real handler; the first invocations are
 * warm-up (boot, JIT, pool connects) and not measured. CPU is Deno.cpuUsage() (user + system; process.cpuUsage() where absent)
 * around one invocation including reading its answer; time spent waiting on I/O is not CPU.
 */
import { writeFileSync } from "node:fs";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { createHealthHandler } from "../../supabase/functions/_shared/health/handler.ts";
import { loadHealthConfig } from "../../supabase/functions/_shared/health/config.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { createPollerHandler } from "../../supabase/functions/_shared/poller/handler.ts";
import { sourceGates } from "../../supabase/functions/_shared/poller/deps.ts";
import { envBearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import { buildLanes } from "../../supabase/functions/_shared/tracker/deps.ts";
import { createTrackerHandler } from "../../supabase/functions/_shared/tracker/handler.ts";
import { type CpuConfig, type CpuSamples, parseCpuConfig } from "./config.ts";
import { cpuMs, cpuSource, env } from "./usage.ts";

const config: CpuConfig = parseCpuConfig(env("BENCH_CPU_CONFIG"));
const KEY = config.serviceKey;
const auth = { Authorization: `Bearer ${KEY}`, "content-type": "application/json" };


async function measure(name: string, invoke: () => Promise<Response>, expect: (status: number, body: string) => void): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < config.warmup + config.runs; i++) {
    const before = cpuMs();
    const response = await invoke();
    const body = await response.text();
    const spent = cpuMs() - before;
    expect(response.status, body);
    if (i >= config.warmup) samples.push(spent);
  }
  console.error(`[bench:cpu] ${name}: ${samples.length} measured invocations (${cpuSource})`);
  return samples;
}

const ok = (what: string) => (status: number, body: string) => {
  if (status !== 200) throw new Error(`${what} answered ${status}: ${body.slice(0, 300)}`);
};

const redis = createRedis(config.redisUrl);
const trackerSql = createSql(config.dbUrl, { max: 2, applicationName: "bench-cpu-tracker" });
const pollerSql = createSql(config.dbUrl, { max: 2, applicationName: "bench-cpu-poller" });
const healthSql = createSql(config.healthDbUrl, { max: 3, applicationName: "bench-cpu-health" });

// The same deps the deployed functions build, pointed at the simulator and the bench databases.
const lanes = buildLanes(redis, { dexscreenerBaseUrl: config.simUrl, geckoterminalBaseUrl: config.geckoterminalUrl, keyPrefix: config.keyPrefix });
const tracker = createTrackerHandler(() => ({ sql: trackerSql, keys: [KEY], lanes: () => lanes }));
const sources = {
  bearer: envBearerSource(() => undefined),
  gates: sourceGates(redis, config.keyPrefix),
  dexscreenerBaseUrl: config.simUrl,
  geckoterminalBaseUrl: config.geckoterminalUrl,
};
const poller = createPollerHandler(() => ({ sql: pollerSql, keys: [KEY], sources: () => sources }));
const healthConfig = loadHealthConfig({ HEALTH_CACHE_MS: "0" });
const health = createHealthHandler(() => ({
  sql: healthSql,
  config: healthConfig,
  keys: [KEY],
  evaluate: () => evaluateHealth({ sql: healthSql, redis, config: healthConfig }),
}));

const post = (fn: string, body: unknown) => new Request(`http://bench.local/functions/v1/${fn}`, { method: "POST", headers: auth, body: JSON.stringify(body) });

const samples: CpuSamples = {
  tracker: await measure(
    `tracker batch of ${config.trackerBatch}`,
    () => tracker(post("tracker", { maxTokens: config.trackerBatch, timeBudgetMs: 30_000, trigger: "test" })),
    (status, body) => {
      ok("tracker")(status, body);
      const claimed = (JSON.parse(body) as { stats: { claimed: number } }).stats.claimed;
      if (claimed !== config.trackerBatch) throw new Error(`tracker claimed ${claimed}, expected ${config.trackerBatch}`);
    },
  ),
  poller: await measure(
    `poller page of ${config.pollerPage}`,
    () => poller(post("poller", { source: config.sourceName, trigger: "test" })),
    ok("poller"),
  ),
  health: await measure(
    "health evaluation",
    () => health(new Request("http://bench.local/health", { headers: { Authorization: `Bearer ${KEY}` } })),
    (status, body) => {
      // 503 is a valid answer (the filled database is meant to look unhealthy); anything else is not.
      if (status !== 200 && status !== 503) throw new Error(`health answered ${status}: ${body.slice(0, 300)}`);
    },
  ),
};

writeFileSync(config.resultFile, JSON.stringify(samples));
await Promise.all([trackerSql.end({ timeout: 1 }), pollerSql.end({ timeout: 1 }), healthSql.end({ timeout: 1 })]);
redis.disconnect();
