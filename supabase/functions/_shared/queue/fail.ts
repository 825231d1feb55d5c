import type { Sql } from "../db/client.ts";
import { redactText } from "../egress/redact.ts";
import type { FailedToken } from "../db/rows.ts";

/**
 * Whose fault a failure is. `provider`: the upstream was unreachable, refusing or throttling everyone
 * (network error, timeout, 5xx, 429, an open breaker, a batch where every address failed the same
 * way) — the row comes back after a short delay and no attempt is counted. `poison`: the token's own
 * failure — counts toward dead-letter, with a capped backoff.
 */
export type FailureKind = "provider" | "poison";

export interface Failure {
  tokenId: number;
  error: string;
  /** Omitted: the token's own failure (poison). */
  kind?: FailureKind;
}

export interface FailPolicy {
  maxAttempts: number;
  baseSeconds: number;
  /** A token's own transient failure comes back within this, however many attempts it took. */
  capSeconds: number;
  /** How long a row failed by its provider waits (fixed, so rows keep the order they were claimed in). */
  providerDelaySeconds: number;
}

export const defaultFailPolicy: FailPolicy = { maxAttempts: 8, baseSeconds: 15, capSeconds: 300, providerDelaySeconds: 15 };

/** Records a batch of failures: provider ones deferred without an attempt, poison ones backed off and dead-lettered after `maxAttempts`. */
export async function fail(
  sql: Sql,
  worker: string,
  failures: readonly Failure[],
  policy: Partial<FailPolicy> = {},
): Promise<FailedToken[]> {
  if (failures.length === 0) return [];
  const { maxAttempts, baseSeconds, capSeconds, providerDelaySeconds } = { ...defaultFailPolicy, ...policy };
  return await sql<FailedToken[]>`
    select * from peakwatch.fail(
      ${worker},
      ${failures.map((f) => f.tokenId)}::bigint[],
      ${failures.map((f) => redactText(f.error))}::text[],
      ${maxAttempts}::int,
      ${`${baseSeconds} seconds`}::interval,
      ${`${capSeconds} seconds`}::interval,
      ${failures.map((f) => f.kind ?? "poison")}::text[],
      ${`${providerDelaySeconds} seconds`}::interval
    )`;
}
