import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { adminClient } from "../../dev/lib/postgres.ts";
import { databaseUrl, readStackSettings } from "../../dev/lib/settings.ts";
import { createSql, type Sql } from "../../supabase/functions/_shared/db/client.ts";

export interface TestDatabase {
  name: string;
  url: string;
  sql: Sql;
  /** Another pool on the same database, e.g. one per concurrent worker. */
  connect(max?: number): Sql;
  drop(): Promise<void>;
}

/** A fresh, fully migrated database cloned from the template built in global setup. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl } = readStackSettings();
  const name = `${inject("testDbPrefix")}${randomBytes(4).toString("hex")}`;
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`create database "${name}" template "${inject("templateDb")}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(adminUrl, name);
  const pools: Sql[] = [];
  const connect = (max = 4) => {
    const pool = createSql(url, { max, applicationName: "peakwatch-test" });
    pools.push(pool);
    return pool;
  };
  return {
    name,
    url,
    sql: connect(),
    connect,
    async drop() {
      await Promise.all(pools.map((pool) => pool.end({ timeout: 1 })));
      const cleanup = adminClient(adminUrl);
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** Inserts tokens the way any client would (plain SQL); the trigger queues them. */
export async function insertTokens(sql: Sql, count: number, chain = "solana", prefix = "tok"): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    insert into peakwatch.tokens (chain, address)
    select ${chain}, ${prefix} || '-' || g from generate_series(1, ${count}::int) g
    returning id`;
  return rows.map((row) => row.id);
}
