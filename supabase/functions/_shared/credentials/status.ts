import type { Sql } from "../db/client.ts";
import { redactText } from "../egress/redact.ts";
import type { CredentialCheck } from "./store.ts";

/**
 * Writes one run's checks to peakwatch.credential_status in one round trip (the SQL function keeps
 * last_error visible and counts consecutive failures). Health reads seconds to expiry from here.
 */
export async function recordCredentialChecks(sql: Sql, checks: readonly CredentialCheck[]): Promise<void> {
  if (checks.length === 0) return;
  const rows = checks.map((check) => ({
    name: check.name,
    strategy: check.strategy,
    outcome: check.outcome,
    expires_at: check.expiresAt === null ? null : new Date(check.expiresAt).toISOString(),
    error: check.error === undefined ? null : redactText(check.error),
  }));
  await sql`select peakwatch.record_credential_checks(${sql.json(rows)})`;
}
