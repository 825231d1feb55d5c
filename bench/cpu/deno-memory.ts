/**
 * Runs under the real deno binary (started by bench/cpu.ts): one process stands in for one isolate
 * that serves tracker invocations back to back until `memoryTokens` queued tokens are priced.
 * Memory is sampled every second after a forced GC (deno runs with --expose-gc), so the figures
 * are what the isolate retains, not garbage that has not been collected yet.
 */
import { writeFileSync } from "node:fs";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { providerLimits } from "../../supabase/functions/_shared/limits/gcra.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { buildLanes } from "../../supabase/functions/_shared/tracker/deps.ts";
import { createTrackerHandler } from "../../supabase/functions/_shared/tracker/handler.ts";
import { type CpuConfig, type MemorySample, parseCpuConfig } from "./config.ts";
import { env, memoryUsage } from "./usage.ts";

const config: CpuConfig = parseCpuConfig(env("BENCH_CPU_CONFIG"));
const MB = 1024 * 1024;
const TOKENS_PER_INVOCATION = 2_000;

// The provider quota is lifted (the simulator is started with the same ceiling): memory is about
// what an isolate keeps between batches, and waiting on DexScreener's 300/min would only stretch time.
const limits = providerLimits(`${config.keyPrefix}memory:limits:`);
limits.dexscreener.ratePerMinute = 60_000;
limits.dexscreener.burst = 50;

const redis = createRedis(config.redisUrl);
const sql = createSql(config.memoryDbUrl, { max: 2, applicationName: "bench-memory-tracker" });
const lanes = buildLanes(redis, { dexscreenerBaseUrl: config.simUrl, geckoterminalBaseUrl: config.geckoterminalUrl, keyPrefix: `${config.keyPrefix}memory:`, limits });
const tracker = createTrackerHandler(() => ({ sql, keys: [config.serviceKey], lanes: () => lanes }));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("deno must run with --v8-flags=--expose-gc");

const samples: MemorySample[] = [];
let claimed = 0;
let invocations = 0;
const started = performance.now();
const sample = () => {
  gc();
  const m = memoryUsage();
  samples.push({
    s: (performance.now() - started) / 1000,
    priced: claimed,
    invocations,
    rssMb: m.rss / MB,
    heapUsedMb: m.heapUsed / MB,
    heapTotalMb: m.heapTotal / MB,
    externalMb: m.external / MB,
  });
};
sample();
const timer = setInterval(sample, 1_000);
try {
  while (claimed < config.memoryTokens) {
    const response = await tracker(
      new Request("http://bench.local/functions/v1/tracker", {
        method: "POST",
        headers: { Authorization: `Bearer ${config.serviceKey}`, "content-type": "application/json" },
        body: JSON.stringify({ maxTokens: Math.min(TOKENS_PER_INVOCATION, config.memoryTokens - claimed), timeBudgetMs: 140_000, trigger: "test" }),
      }),
    );
    const body = await response.text();
    if (response.status !== 200) throw new Error(`tracker answered ${response.status}: ${body.slice(0, 300)}`);
    const done = (JSON.parse(body) as { stats: { claimed: number } }).stats.claimed;
    if (done === 0) throw new Error("tracker claimed nothing while tokens were left");
    claimed += done;
    invocations += 1;
  }
} finally {
  clearInterval(timer);
}
sample();
writeFileSync(config.resultFile, JSON.stringify(samples));
await sql.end({ timeout: 1 });
redis.disconnect();
