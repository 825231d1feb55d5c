import type { Sql } from "../../supabase/functions/_shared/db/client.ts";

export interface IdRange {
  lo: number;
  hi: number;
}

/** How many of the backlog tokens have been priced at least once. */
export async function pricedInRange(sql: Sql, range: IdRange): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from peakwatch.tokens
    where id between ${range.lo} and ${range.hi} and first_priced_at is not null`;
  return row!.n;
}

/** Epoch seconds of the last first pricing in the range (null when none). */
export async function lastFirstPricing(sql: Sql, range: IdRange): Promise<number | null> {
  const [row] = await sql<{ at: number | null }[]>`
    select extract(epoch from max(first_priced_at))::float8 as at from peakwatch.tokens
    where id between ${range.lo} and ${range.hi}`;
  return row!.at;
}

/** Every token (backlog or streamed) first priced in (fromEpochS, toEpochS]. */
export async function firstPricingsBetween(sql: Sql, fromEpochS: number, toEpochS: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from peakwatch.tokens
    where first_priced_at > to_timestamp(${fromEpochS}) and first_priced_at <= to_timestamp(${toEpochS})`;
  return row!.n;
}

export interface FirstPrice {
  id: number;
  /** Epoch seconds of the insert. */
  createdAt: number;
  /** Seconds from insert (created_at) to first price (first_priced_at, the observation time); null when never priced. */
  seconds: number | null;
}

export async function timesToFirstPrice(sql: Sql, ids: number[]): Promise<FirstPrice[]> {
  if (ids.length === 0) return [];
  return await sql<FirstPrice[]>`
    select id, extract(epoch from created_at)::float8 as "createdAt",
           extract(epoch from first_priced_at - created_at)::float8 as seconds
    from peakwatch.tokens where id = any(${ids}::bigint[]) order by id`;
}

export async function unpricedCount(sql: Sql, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from peakwatch.tokens where id = any(${ids}::bigint[]) and first_priced_at is null`;
  return row!.n;
}

export interface EndState {
  tokens: Record<string, number>;
  queue: { rows: number; deadLettered: number; withError: number; leased: number };
  topErrors: Array<{ error: string; count: number }>;
}

export async function endState(sql: Sql): Promise<EndState> {
  const statuses = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from peakwatch.tokens group by status order by status`;
  const [queue] = await sql<{ rows: number; dead: number; errored: number; leased: number }[]>`
    select count(*)::int as rows,
           count(*) filter (where dead_lettered_at is not null)::int as dead,
           count(*) filter (where last_error is not null)::int as errored,
           count(*) filter (where claimed_by is not null and due_at > now())::int as leased
    from peakwatch.queue`;
  const errors = await sql<{ error: string; n: number }[]>`
    select left(last_error, 160) as error, count(*)::int as n from peakwatch.queue
    where last_error is not null group by 1 order by 2 desc limit 5`;
  return {
    tokens: Object.fromEntries(statuses.map((row) => [row.status, row.n])),
    queue: { rows: queue!.rows, deadLettered: queue!.dead, withError: queue!.errored, leased: queue!.leased },
    topErrors: errors.map((row) => ({ error: row.error, count: row.n })),
  };
}

/** Nearest-rank percentile; never-priced tokens count as +Infinity so they are not hidden. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  tokens: number;
  priced: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export function summarize(seconds: Array<number | null>): LatencySummary {
  const values = seconds.map((s) => (s === null ? Number.POSITIVE_INFINITY : s));
  const priced = values.filter(Number.isFinite);
  return {
    tokens: values.length,
    priced: priced.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: priced.length > 0 ? Math.max(...priced) : null,
  };
}
