/**
 * Health under a flood: 200 requests/s of the public `/health` for 60 s (`-- --rate N --seconds N`)
 * against every function served by the local functions server, while the tracker keeps being
 * invoked. Prints health latency (p50/p95/p99), answers by status, each function pool's peak
 * connections, and whether the tracker kept working: the cached, single-flight evaluation (≤ 10 s per
 * isolate) must keep a flood of unauthenticated requests from taking the pipeline's connections.
 * Run with `npm run bench:health-load`.
 */
import "./local-dev.ts";
import { randomBytes } from "node:crypto";
import { startMarketSimulator } from "../dev/market-sim/server.ts";
import { startFunctionsServer } from "../dev/lib/functions-server.ts";
import { freePort } from "../dev/lib/ports.ts";
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { readStackSettings } from "../dev/lib/settings.ts";
import { createSql } from "../supabase/functions/_shared/db/client.ts";
import { percentile } from "./cpu/report.ts";
import { flood, type FloodResult } from "./health-load/flood.ts";

const DB_NAME = "peakwatch_bench_health_load";
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RATE = arg("rate", 200);
const SECONDS = arg("seconds", 60);
const TARGET_P95_MS = 50;
const progress = (message: string) => console.error(`[bench:health-load] ${message}`);


async function main(): Promise<void> {
  const { adminUrl, redisUrl } = readStackSettings();
  progress(`creating ${DB_NAME}`);
  const dbUrl = await createScratchDatabase(adminUrl, DB_NAME);
  const sql = createSql(dbUrl, { max: 2, applicationName: "bench-observer" });
  const sim = await startMarketSimulator({ seed: 7, tokens: { chains: ["solana"], perChain: 2_000 } });
  const tokens = sim.tokens().filter((t) => t.kind !== "quote_only").slice(0, 2_000);
  await sql`insert into peakwatch.tokens (chain, address) select * from unnest(${tokens.map((t) => t.chain)}::text[], ${tokens.map((t) => t.address)}::text[])`;
  const serviceKey = `bench-${randomBytes(16).toString("hex")}`;
  const port = await freePort();
  const server = await startFunctionsServer({
    SUPABASE_URL: `http://127.0.0.1:${port}`,
    SUPABASE_DB_URL: dbUrl,
    SUPABASE_SERVICE_ROLE_KEY: serviceKey,
    REDIS_URL: redisUrl,
    PEAKWATCH_REDIS_PREFIX: `bench-load-${randomBytes(3).toString("hex")}:`,
    DEXSCREENER_BASE_URL: sim.url,
    GECKOTERMINAL_BASE_URL: sim.geckoterminalUrl,
    HEALTH_FUNCTIONS: "tracker",
  }, port);

  const peakConnections = new Map<string, number>();
  const tracker = { ok: 0, total: 0, priced: 0 };
  let result: FloodResult;
  try {
    await fetch(`${server.url}/health`).then((r) => r.text());
    progress(`flooding ${server.url}/health at ${RATE}/s for ${SECONDS} s`);
    const end = Date.now() + SECONDS * 1_000;
    const pipeline = (async () => {
      while (Date.now() < end) {
        tracker.total++;
        const response = await fetch(`${server.url}/tracker`, {
          method: "POST",
          headers: { Authorization: `Bearer ${serviceKey}`, "Content-Type": "application/json" },
          body: JSON.stringify({ maxTokens: 200, timeBudgetMs: 8_000, trigger: "test" }),
        }).catch(() => null);
        if (response?.ok) {
          tracker.ok++;
          const body = (await response.json()) as { stats?: { priced?: number } };
          if (tracker.ok === 1) progress(`first tracker answer: ${JSON.stringify(body).slice(0, 400)}`);
          tracker.priced += body.stats?.priced ?? 0;
        }
        const rows = await sql<{ app: string; n: number }[]>`
          select application_name as app, count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name like 'peakwatch-%' group by 1`;
        for (const row of rows) peakConnections.set(row.app, Math.max(peakConnections.get(row.app) ?? 0, row.n));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    [result] = await Promise.all([flood(`${server.url}/health`, RATE, SECONDS), pipeline]);
  } finally {
    await server.stop();
    await sim.close();
    await sql.end({ timeout: 1 });
    await dropScratchDatabase(adminUrl, DB_NAME);
  }

  const { latencies, statuses, maxInFlight } = result;
  const p95 = percentile(latencies, 95);
  console.log(`health under load: ${latencies.length} requests in ${SECONDS} s (${(latencies.length / SECONDS).toFixed(0)}/s asked ${RATE}/s), at most ${maxInFlight} in flight`);
  console.log(`  answers: ${[...statuses].map(([status, n]) => `${status} × ${n}`).join(", ")}`);
  console.log(`  latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (target p95 < ${TARGET_P95_MS} ms: ${p95 < TARGET_P95_MS ? "met" : "MISSED"})`);
  console.log(`  peak Postgres connections by function: ${[...peakConnections].map(([app, n]) => `${app} ${n}`).join(", ") || "none seen"}`);
  console.log(`  tracker during the flood: ${tracker.ok}/${tracker.total} invocations answered 200, ${tracker.priced} tokens priced`);
}

main().catch((error) => {
  console.error(`bench:health-load: ${(error as Error).message}`);
  process.exit(1);
});
