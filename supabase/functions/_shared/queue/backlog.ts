import type { Sql } from "../db/client.ts";
import type { Backlog } from "../db/rows.ts";

/** Due count, oldest due row and overdue percentiles, read from index ranges over due rows only. */
export async function readBacklog(sql: Sql): Promise<Backlog> {
  const [row] = await sql<Backlog[]>`select * from peakwatch.backlog()`;
  return row!;
}
