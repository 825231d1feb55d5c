import { startFunctionsServer, type FunctionsServer } from "../../dev/lib/functions-server.ts";
import { freePort } from "../../dev/lib/ports.ts";
import { redisUrl } from "./tracker.ts";

export interface TestFunctionsOptions {
  dbUrl: string;
  serviceKey: string;
  /** This test file's Redis key prefix (limits, breakers, credentials). */
  keyPrefix?: string;
  /** A market simulator to use as DexScreener and GeckoTerminal. */
  sim?: { url: string; geckoterminalUrl: string };
  env?: Record<string, string>;
  /** Reuse a port, e.g. to restart a server that was killed. */
  port?: number;
}

/**
 * Every function under real Deno with the env the edge runtime gives (SUPABASE_URL,
 * SUPABASE_DB_URL, the service key) pointed at this test's database, Redis prefix and upstreams.
 */
export async function startTestFunctions(options: TestFunctionsOptions): Promise<FunctionsServer & { port: number }> {
  const port = options.port ?? (await freePort());
  const server = await startFunctionsServer({
    SUPABASE_URL: `http://127.0.0.1:${port}`,
    SUPABASE_DB_URL: options.dbUrl,
    SUPABASE_SERVICE_ROLE_KEY: options.serviceKey,
    REDIS_URL: redisUrl(),
    ...(options.keyPrefix ? { PEAKWATCH_REDIS_PREFIX: options.keyPrefix } : {}),
    ...(options.sim ? { DEXSCREENER_BASE_URL: options.sim.url, GECKOTERMINAL_BASE_URL: options.sim.geckoterminalUrl } : {}),
    ...options.env,
  }, port);
  return Object.assign(server, { port });
}
