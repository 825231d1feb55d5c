import type { Sql } from "../db/client.ts";

/** The named sources that exist, by name. */
export async function findSources(sql: Sql, names: readonly string[]): Promise<Map<string, { id: number; kind: string }>> {
  if (names.length === 0) return new Map();
  const rows = await sql<{ id: number; name: string; kind: string }[]>`
    select s.id, s.name, s.kind from peakwatch.sources s where s.name = any (${names as string[]}::text[])`;
  return new Map(rows.map((row) => [row.name, { id: row.id, kind: row.kind }]));
}
