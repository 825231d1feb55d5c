/**
 * `npm start`, the local suite: the stack (PostgreSQL + pg_cron, Redis, migrations, seed), the
 * market simulator as upstream (clearly SIMULATED; PEAKWATCH_UPSTREAM=real for the real APIs),
 * every function under real Deno at http://127.0.0.1:54321/functions/v1/<name>, the pg_net
 * stand-in worker that delivers pg_cron's requests, and a live view. Ctrl-C stops what it started.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { createSql } from "../supabase/functions/_shared/db/client.ts";
import { startMarketSimulator } from "./market-sim/server.ts";
import { setFunctionJobsActive } from "./lib/cron-jobs.ts";
import { startFunctionsServer } from "./lib/functions-server.ts";
import { render, takeSnapshot } from "./lib/live-view.ts";
import { startPgNetWorker } from "./lib/pgnet-worker.ts";
import { readStackSettings } from "./lib/settings.ts";
import { bringUpStack } from "./lib/stack.ts";

const startEnv = z.object({
  FUNCTIONS_PORT: z.coerce.number().int().min(1).max(65535).default(54321),
  MARKET_SIM_PORT: z.coerce.number().int().min(1).max(65535).default(54330),
  PEAKWATCH_UPSTREAM: z.enum(["simulated", "real"]).default("simulated"),
  /**
   * The simulated GeckoTerminal limit per minute; the functions' one GeckoTerminal budget is set 1
   * below it. 500 is CoinGecko's paid on-chain rate: the simulated feed calls a new token about every
   * minute, and at the public 30/min candles for about 90 pools is the ceiling, so within the hour
   * every stream would be behind. Set 30 to watch the public API's ceiling instead.
   */
  MARKET_SIM_GECKOTERMINAL_PER_MINUTE: z.coerce.number().int().min(2).default(500),
});

const log = (message: string) => console.log(`[start] ${message}`);

async function main() {
  const env = startEnv.parse(process.env);
  const settings = readStackSettings();
  const stack = await bringUpStack(settings, (m) => log(m));
  const cleanups: Array<() => Promise<void> | void> = [() => stack.stop()];
  const shutdown = async (code: number) => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    const sql = createSql(settings.dbUrl, { max: 2, applicationName: "peakwatch-start" });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const functionsUrl = `http://127.0.0.1:${env.FUNCTIONS_PORT}`;
    // One service key per machine, kept where the cron helper reads it (Vault plays this part on Supabase).
    const [existing] = await sql<{ value: string }[]>`select value from peakwatch.settings where key = 'peakwatch_service_key'`;
    const serviceKey = existing?.value ?? `local-${randomBytes(24).toString("hex")}`;
    await sql`
      insert into peakwatch.settings (key, value) values ('peakwatch_service_key', ${serviceKey}), ('peakwatch_functions_url', ${functionsUrl})
      on conflict (key) do update set value = excluded.value, updated_at = now()`;

    const upstream: Record<string, string> = {};
    if (env.PEAKWATCH_UPSTREAM === "simulated") {
      const sim = await startMarketSimulator({ port: env.MARKET_SIM_PORT, seed: 42, limits: { geckoterminal: env.MARKET_SIM_GECKOTERMINAL_PER_MINUTE } });
      cleanups.push(() => sim.close());
      upstream.DEXSCREENER_BASE_URL = sim.url;
      upstream.GECKOTERMINAL_BASE_URL = sim.geckoterminalUrl;
      upstream.GECKOTERMINAL_CALLS_PER_MINUTE = String(env.MARKET_SIM_GECKOTERMINAL_PER_MINUTE - 1);
      log(`SIMULATED market data at ${sim.url} (set PEAKWATCH_UPSTREAM=real for the real APIs)`);
      // The demo sources of supabase/seed.sql read the simulator; a simulated call group posts a
      // call every few seconds so the pipeline has something to do.
      await sql`update peakwatch.sources set enabled = true, config = config || ${sql.json({ url: sim.feedUrl })}
                where name = 'demo-calls'`;
      await sql`update peakwatch.sources set enabled = true where name in ('dexscreener-profiles', 'geckoterminal-trending-solana')`;
      const tokens = sim.tokens().filter((t) => t.kind !== "quote_only");
      let next = 0;
      const caller = setInterval(() => {
        const token = tokens[next++ % tokens.length]!;
        sim.addFeedCalls([{ chain: token.chain, token_address: token.address, symbol: token.symbol, called_at: new Date().toISOString() }]);
      }, 5_000);
      cleanups.push(() => clearInterval(caller));
    }
    const functions = await startFunctionsServer({
      SUPABASE_URL: functionsUrl,
      SUPABASE_DB_URL: settings.dbUrl,
      SUPABASE_SERVICE_ROLE_KEY: serviceKey,
      REDIS_URL: settings.redisUrl,
      // Local dev: plain http to the loopback stand-ins is allowed (docs/security.md).
      PEAKWATCH_LOCAL_DEV: "1",
      ...upstream,
    }, env.FUNCTIONS_PORT);
    cleanups.push(() => functions.stop());
    const worker = await startPgNetWorker(settings.dbUrl);
    cleanups.push(() => worker.stop());
    await setFunctionJobsActive(settings.dbUrl, true);
    // Stopping the suite pauses them again: nothing keeps calling a functions URL that is gone.
    cleanups.push(() => setFunctionJobsActive(settings.dbUrl, false).then(() => undefined));
    log(`functions at ${functionsUrl}/functions/v1/<name>; pg_cron fires them every minute`);

    const header = `peakwatch — local suite (${env.PEAKWATCH_UPSTREAM === "simulated" ? "SIMULATED upstream" : "REAL upstream"})`;
    const tick = async () => {
      try {
        const snapshot = await takeSnapshot(sql, `${functionsUrl}/functions/v1/health`);
        const text = render(snapshot, `${header} · ${new Date().toISOString().slice(0, 19)}Z`);
        if (process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
        else console.log(JSON.stringify({ event: "start.snapshot", health: snapshot.health, due: snapshot.backlog.due_count, pricedLastMinute: snapshot.pricedLastMinute }));
      } catch (error) {
        console.error(`[start] live view: ${(error as Error).message}`);
      }
    };
    await tick();
    const timer = setInterval(() => void tick(), process.stdout.isTTY ? 2_000 : 15_000);
    cleanups.push(() => clearInterval(timer));
  } catch (error) {
    console.error(`start: ${(error as Error).message}`);
    await shutdown(1);
  }
}

main().catch((error) => {
  console.error(`start: ${(error as Error).message}`);
  process.exit(1);
});
