import { randomBytes } from "node:crypto";
import { startMarketSimulator, type MarketSimulator, type MarketSimulatorOptions } from "../../dev/market-sim/server.ts";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { createRedis, type Redis } from "../../supabase/functions/_shared/limits/redis.ts";
import { sourceGates } from "../../supabase/functions/_shared/poller/deps.ts";
import { envBearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import type { SourceDeps } from "../../supabase/functions/_shared/sources/reader.ts";
import { redisUrl } from "./tracker.ts";

/** Simulated time stands still unless a test advances it. */
export const EPOCH = Date.UTC(2026, 10, 1);

export interface PollerFixture {
  sim: MarketSimulator;
  redis: Redis;
  keyPrefix: string;
  /** Environment the bearer source reads (tokenEnv variables). */
  env: Record<string, string>;
  deps(overrides?: Partial<SourceDeps>): SourceDeps;
  close(): Promise<void>;
}

/** A simulator whose feed generates nothing by itself, and source deps whose Redis keys belong to this file. */
export async function pollerFixture(simOptions: MarketSimulatorOptions = {}): Promise<PollerFixture> {
  const sim = await startMarketSimulator({ port: 0, seed: 11, now: () => EPOCH, feed: { everyMs: 0 }, ...simOptions });
  const redis = createRedis(redisUrl());
  const keyPrefix = `test:${randomBytes(4).toString("hex")}:`;
  const env: Record<string, string> = {};
  return {
    sim,
    redis,
    keyPrefix,
    env,
    deps: (overrides = {}) => ({
      bearer: envBearerSource((name) => env[name]),
      gates: sourceGates(redis, keyPrefix),
      dexscreenerBaseUrl: sim.url,
      geckoterminalBaseUrl: sim.geckoterminalUrl,
      now: () => EPOCH,
      ...overrides,
    }),
    async close() {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await sim.close();
    },
  };
}

export async function addSource(
  sql: Sql,
  source: { name: string; kind: string; config?: Record<string, unknown>; enabled?: boolean; intervalSeconds?: number },
): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    insert into peakwatch.sources (name, kind, config, enabled, poll_interval_seconds)
    values (${source.name}, ${source.kind}, ${sql.json((source.config ?? {}) as Parameters<typeof sql.json>[0])},
            ${source.enabled ?? true}, ${source.intervalSeconds ?? 60})
    returning id`;
  return row!.id;
}

/** A valid EVM address for n (lower case). */
export const evmAddress = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

/** A valid Solana-looking mint for n: 40 base58 characters. */
export const solanaMint = (n: number) => `Mint${String(n).replace(/0/g, "z").padStart(36, "A")}`;

export async function sourceRow(sql: Sql, id: number) {
  const [row] = await sql<{ cursor: string | null; last_error: string | null; last_error_at: string | null; last_success_at: string | null; last_polled_at: string | null; due: boolean }[]>`
    select cursor, last_error, last_error_at, last_success_at, last_polled_at, next_poll_at <= now() as due
    from peakwatch.sources where id = ${id}`;
  return row!;
}

export async function callIds(sql: Sql, sourceId: number): Promise<string[]> {
  const rows = await sql<{ external_id: string }[]>`
    select external_id from peakwatch.calls where source_id = ${sourceId} order by external_id::text`;
  return rows.map((row) => row.external_id);
}
