import type { Sql } from "../db/client.ts";
import { Priority } from "./priority.ts";

/** Queues tokens (or pulls them forward); revives dead-lettered rows. New tokens are queued by trigger. */
export async function enqueue(
  sql: Sql,
  tokenIds: readonly number[],
  options: { priority?: Priority; dueAt?: string } = {},
): Promise<number> {
  if (tokenIds.length === 0) return 0;
  const [row] = await sql<{ queued: number }[]>`
    select peakwatch.enqueue(
      ${tokenIds as number[]}::bigint[],
      ${options.priority ?? Priority.refresh}::smallint,
      coalesce(${options.dueAt ?? null}::timestamptz, now())
    ) as queued`;
  return row!.queued;
}

export async function requeueDeadLetters(sql: Sql, olderThanSeconds: number, limit = 1000): Promise<number> {
  const [row] = await sql<{ requeued: number }[]>`
    select peakwatch.requeue_dead_letters(${`${olderThanSeconds} seconds`}::interval, ${limit}::int) as requeued`;
  return row!.requeued;
}

/** Hands claimed rows back as due now, without counting an attempt. */
export async function release(sql: Sql, worker: string, tokenIds: readonly number[]): Promise<number> {
  if (tokenIds.length === 0) return 0;
  const [row] = await sql<{ released: number }[]>`
    select peakwatch.release(${worker}, ${tokenIds as number[]}::bigint[]) as released`;
  return row!.released;
}
