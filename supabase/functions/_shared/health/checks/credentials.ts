import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import { presentRelations } from "./present.ts";

// peakwatch.credentials / peakwatch.credential_status (token-refresh migration).
const credentialRow = z.object({
  name: z.string(),
  expires_at: z.string().nullable(),
  seconds_to_expiry: z.number().nullable(),
  last_outcome: z.string().nullable(),
  last_checked_at: z.string().nullable(),
  last_error: z.string().nullable(),
  consecutive_failures: z.number().nullable(),
});

/**
 * Seconds until each upstream credential's access token expires, as token-refresh last recorded it.
 * Below the warn line it warns only when its last refresh failed (an expiring credential that cannot
 * refresh); below the fail line it fails. A credential that is configured (table or
 * HEALTH_CREDENTIALS) but has no live token fails.
 */
export async function credentialChecks(ctx: CheckContext): Promise<AreaResult> {
  const present = await presentRelations(ctx.sql, ["peakwatch.credentials", "peakwatch.credential_status"]);
  if (!present.has("peakwatch.credential_status") || !present.has("peakwatch.credentials")) {
    return { checks: [], notes: ["credentials:secondsToExpiry skipped: token-refresh's status table is not installed"] };
  }
  const rows = z.array(credentialRow).parse(
    await ctx.sql`
      with expected as (
        select c.name from peakwatch.credentials c where c.enabled
        union
        select s.name from peakwatch.credential_status s
        where not exists (select 1 from peakwatch.credentials c where c.name = s.name and not c.enabled)
        union
        select unnest(${ctx.config.credentials}::text[])
      )
      select e.name, s.expires_at, extract(epoch from s.expires_at - now())::float8 as seconds_to_expiry,
             s.last_outcome, s.last_checked_at, s.last_error, s.consecutive_failures
      from expected e
      left join peakwatch.credential_status s on s.name = e.name
      order by e.name
      limit 100`,
  );
  const checks = rows.map((c) => {
    const missing = c.seconds_to_expiry === null;
    const state = c.last_checked_at
      ? `last check ${c.last_outcome} at ${isoTime(c.last_checked_at)}` +
        (c.consecutive_failures ? `, ${c.consecutive_failures} failure(s) in a row` : "") +
        (c.last_error ? `; last error: ${c.last_error.slice(0, 300)}` : "")
      : "never checked by token-refresh";
    const failing = (c.consecutive_failures ?? 0) > 0;
    const output = missing ? `no live token; ${state}` : `expires at ${isoTime(c.expires_at)}; ${state}`;
    const graded = reading(ctx, "credentials:secondsToExpiry", missing ? null : Math.round(c.seconds_to_expiry!), output, {
      componentId: c.name,
      ...(missing ? { status: "fail" as const } : {}),
    });
    // Inside the warn line a token is due for its refresh, which token-refresh makes within a minute:
    // that is a warning only once a refresh has failed. The fail line and a missing token always count.
    return graded.status === "warn" && !failing ? { ...graded, status: "pass" as const } : graded;
  });
  return { checks, notes: checks.length === 0 ? ["no upstream credential is configured: credentials:secondsToExpiry has nothing to read"] : [] };
}
