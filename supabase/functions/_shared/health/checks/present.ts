import type { Sql } from "../../db/client.ts";

/**
 * Which of `relations` exist in this database. pg_cron lives in one database per cluster and the
 * poller's and token-refresh's tables arrive with their migrations, so checks that read them ask first.
 */
export async function presentRelations(sql: Sql, relations: readonly string[]): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`
    select r.name from unnest(${relations as string[]}::text[]) as r(name) where to_regclass(r.name) is not null`;
  return new Set(rows.map((row) => row.name));
}
