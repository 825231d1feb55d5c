import type { Sql } from "../db/client.ts";
import type { ClaimedToken, FunctionArgs } from "../db/rows.ts";

export interface ClaimOptions {
  worker: string;
  limit: number;
  leaseSeconds: number;
  chains?: string[];
  /** Keep the batch on one chain (the chain of the most urgent due row). */
  oneChain?: boolean;
}

/** Leases up to `limit` due tokens: never-checked first, then the most overdue (SKIP LOCKED). */
export async function claim(sql: Sql, options: ClaimOptions): Promise<ClaimedToken[]> {
  const args: FunctionArgs<"claim"> = {
    p_worker: options.worker,
    p_limit: options.limit,
    p_lease: `${options.leaseSeconds} seconds`,
    p_chains: options.chains,
  };
  return await sql<ClaimedToken[]>`
    select * from peakwatch.claim(
      ${args.p_worker}, ${args.p_limit}::int, ${args.p_lease}::interval, ${args.p_chains ?? null}::text[], ${options.oneChain ?? false}::boolean
    )`;
}
