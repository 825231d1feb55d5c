import type postgres from "postgres";
import { z } from "zod";
import type { Sql } from "../db/client.ts";
import type { StateWrite, StoredAlert } from "./plan.ts";

const storedRow = z.object({
  check_key: z.string(),
  status: z.enum(["pass", "warn", "fail"]),
  since: z.string(),
  seconds_since_notified: z.number(),
  observed_status: z.enum(["pass", "warn", "fail"]),
  observed_seconds: z.number(),
});

/** The pool or a transaction of it. */
export type Query = Sql | postgres.TransactionSql;

/** Every stored alert state (one row per check: tens of rows). */
export async function readAlertStates(sql: Query): Promise<Map<string, StoredAlert>> {
  const rows = z.array(storedRow).parse(
    await sql`
      select a.check_key, a.status, a.since::text as since,
             extract(epoch from now() - coalesce(a.notified_at, a.since))::float8 as seconds_since_notified,
             coalesce(a.observed_status, a.status) as observed_status,
             extract(epoch from now() - coalesce(a.observed_since, a.since))::float8 as observed_seconds
      from peakwatch.alert_state a`,
  );
  return new Map(rows.map((row) => [row.check_key, {
    status: row.status,
    since: row.since,
    secondsSinceNotified: row.seconds_since_notified,
    observedStatus: row.observed_status,
    observedSeconds: row.observed_seconds,
  }]));
}

/**
 * Applies a plan's writes in one statement: a new announced status restarts `since`, a new observed
 * status restarts `observed_since`; a notification stamps `notified_at`.
 */
export async function writeAlertStates(sql: Query, writes: readonly StateWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await sql`
    insert into peakwatch.alert_state as a (check_key, status, since, notified_at, observed_status, observed_since, updated_at)
    select w.key, w.status, now(), case when w.notified then now() end, coalesce(w.observed, w.status), now(), now()
    from jsonb_to_recordset(${sql.json(writes.map((w) => ({ ...w })))}) as w(key text, status text, notified boolean, observed text)
    on conflict (check_key) do update
    set status = excluded.status,
        since = case when a.status = excluded.status then a.since else now() end,
        notified_at = coalesce(excluded.notified_at, a.notified_at),
        observed_since = case when coalesce(a.observed_status, a.status) = excluded.observed_status then coalesce(a.observed_since, a.since) else now() end,
        observed_status = excluded.observed_status,
        updated_at = now()`;
}
