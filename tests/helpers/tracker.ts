import { randomBytes } from "node:crypto";
import { createRedis, type Redis } from "../../supabase/functions/_shared/limits/redis.ts";
import { buildLanes, type LaneOptions } from "../../supabase/functions/_shared/tracker/deps.ts";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { startMarketSimulator, type MarketSimulator, type MarketSimulatorOptions } from "../../dev/market-sim/server.ts";

export const redisUrl = () => process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TrackerFixture {
  sim: MarketSimulator;
  redis: Redis;
  keyPrefix: string;
  lanes(options?: Partial<LaneOptions>): ReturnType<typeof buildLanes>;
  close(): Promise<void>;
}

/** A simulator on an ephemeral port and lanes whose Redis keys belong to this test file alone. */
export async function trackerFixture(simOptions: MarketSimulatorOptions = {}): Promise<TrackerFixture> {
  const sim = await startMarketSimulator({ port: 0, seed: 7, ...simOptions });
  const redis = createRedis(redisUrl());
  const keyPrefix = `test:${randomBytes(4).toString("hex")}:`;
  return {
    sim,
    redis,
    keyPrefix,
    lanes: (options = {}) =>
      buildLanes(redis, { dexscreenerBaseUrl: sim.url, geckoterminalBaseUrl: sim.geckoterminalUrl, keyPrefix, ...options }),
    async close() {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await sim.close();
    },
  };
}

/** Inserts simulator tokens into peakwatch.tokens (queued by trigger); returns chain:address → id. */
export async function insertSimTokens(sql: Sql, tokens: Array<{ chain: string; address: string }>): Promise<Map<string, number>> {
  const rows = await sql<{ id: number; chain: string; address: string }[]>`
    insert into peakwatch.tokens (chain, address)
    select * from unnest(${tokens.map((t) => t.chain)}::text[], ${tokens.map((t) => t.address)}::text[])
    returning id, chain, address`;
  return new Map(rows.map((row) => [`${row.chain}:${row.address}`, row.id]));
}
