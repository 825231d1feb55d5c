import type { Sql } from "../db/client.ts";
import { redactText } from "../egress/redact.ts";
import type { FailedToken } from "../db/rows.ts";

export interface Failure {
  tokenId: number;
  error: string;
}

export interface FailPolicy {
  maxAttempts: number;
  baseSeconds: number;
  capSeconds: number;
}

export const defaultFailPolicy: FailPolicy = { maxAttempts: 8, baseSeconds: 15, capSeconds: 3600 };

/** Records a batch of failures: backoff with jitter, dead-letter after `maxAttempts`. */
export async function fail(
  sql: Sql,
  worker: string,
  failures: readonly Failure[],
  policy: FailPolicy = defaultFailPolicy,
): Promise<FailedToken[]> {
  if (failures.length === 0) return [];
  return await sql<FailedToken[]>`
    select * from peakwatch.fail(
      ${worker},
      ${failures.map((f) => f.tokenId)}::bigint[],
      ${failures.map((f) => redactText(f.error))}::text[],
      ${policy.maxAttempts}::int,
      ${`${policy.baseSeconds} seconds`}::interval,
      ${`${policy.capSeconds} seconds`}::interval
    )`;
}
