import type { Sql } from "../../db/client.ts";
import type { Database } from "../../db/database.types.ts";

export type ClaimedVerification = Database["peakwatch"]["Functions"]["claim_call_verifications"]["Returns"][number];

export interface ClaimVerificationsOptions {
  owner: string;
  limit: number;
  leaseSeconds: number;
  /** Calls under the young age (24 h) or the backlog of older ones. */
  young: boolean;
}

/** Leases due call verifications, most overdue first (SKIP LOCKED). */
export async function claimVerifications(sql: Sql, options: ClaimVerificationsOptions): Promise<ClaimedVerification[]> {
  return await sql<ClaimedVerification[]>`
    select * from peakwatch.claim_call_verifications(
      ${options.owner}, ${options.limit}::int, ${options.leaseSeconds}::int, ${options.young}::boolean)`;
}
