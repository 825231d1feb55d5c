import type { Sql } from "../db/client.ts";
import type { ClaimedSource, FunctionArgs } from "../db/rows.ts";
import type { Source, SourceKind } from "./types.ts";

export interface ClaimSourcesOptions {
  limit: number;
  /** Keeps other pollers off the claimed sources for this long (a poll that dies frees them then). */
  leaseSeconds: number;
  /** One source by name, due or not, enabled or not. */
  name?: string;
}

/** Due enabled sources, most overdue first (SKIP LOCKED), or the one named; each leased. */
export async function claimSources(sql: Sql, options: ClaimSourcesOptions): Promise<Source[]> {
  const args: FunctionArgs<"claim_sources"> = { p_limit: options.limit, p_lease: `${options.leaseSeconds} seconds`, p_name: options.name };
  const rows = await sql<ClaimedSource[]>`
    select * from peakwatch.claim_sources(${args.p_limit}::int, ${args.p_lease}::interval, ${args.p_name ?? null}::text)`;
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    kind: row.kind as SourceKind,
    config: row.config,
    cursor: row.cursor as string | null,
    pollIntervalSeconds: row.poll_interval_seconds,
  }));
}
