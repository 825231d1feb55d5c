import { z } from "zod";
import type { Sql } from "../db/client.ts";
import type { Query } from "./alert-state.ts";
import { type Channel, deliverAll, type Delivery } from "./deliver.ts";
import type { Notification } from "./message.ts";

/**
 * The alert outbox. An evaluation records what to announce (in the transaction that records the
 * alert state) and commits; `drainOutbox` sends afterwards, outside any transaction, and marks each
 * message. A sender that dies between sending and marking leaves the row `sending`: after
 * `staleSendingSeconds` it is claimed again and sent once more to the channels not marked delivered
 * — at most once more per crash, and `attempts` records it. Sent and failed rows are pruned after a
 * week by peakwatch.housekeeping, with the other retention.
 */
export async function enqueueNotification(tx: Query, notification: Notification): Promise<void> {
  await tx`insert into peakwatch.alert_outbox (kind, notification) values (${notification.kind}, ${tx.json(notification as never)})`;
}

const claimedRow = z.object({
  id: z.number(),
  notification: z.custom<Notification>((value) => typeof value === "object" && value !== null),
  delivered_to: z.array(z.string()),
  attempts: z.number(),
  resent: z.boolean(),
});

export interface DrainSettings {
  maxAttempts: number;
  staleSendingSeconds: number;
  batch: number;
}

export const defaultDrainSettings: DrainSettings = { maxAttempts: 5, staleSendingSeconds: 120, batch: 20 };

export interface DrainResult {
  sent: number;
  failed: number;
  retrying: number;
  /** Messages taken over from a sender that died mid-send (sent again to the channels not marked). */
  resent: number;
  deliveries: Delivery[];
}

export async function drainOutbox(sql: Sql, channels: readonly Channel[], settings: DrainSettings = defaultDrainSettings): Promise<DrainResult> {
  const result: DrainResult = { sent: 0, failed: 0, retrying: 0, resent: 0, deliveries: [] };
  if (channels.length === 0) return result;
  const claimed = z.array(claimedRow).parse(await sql`
    update peakwatch.alert_outbox o
    set status = 'sending', attempts = o.attempts + 1, last_attempt_at = now()
    from (
      select id, status = 'sending' as resent from peakwatch.alert_outbox
      where status = 'pending'
         or (status = 'sending' and last_attempt_at < now() - make_interval(secs => ${settings.staleSendingSeconds}))
      order by id
      limit ${settings.batch}
      for update skip locked
    ) c
    where o.id = c.id
    returning o.id, o.notification, o.delivered_to, o.attempts, c.resent`);
  for (const row of claimed) {
    if (row.resent) result.resent += 1;
    const open = channels.filter((channel) => !row.delivered_to.includes(channel.name));
    const deliveries = await deliverAll(open, row.notification);
    result.deliveries.push(...deliveries);
    const delivered = [...row.delivered_to, ...deliveries.filter((d) => d.ok).map((d) => d.channel)];
    const errors = deliveries.filter((d) => !d.ok).map((d) => `${d.channel}: ${d.error ?? `HTTP ${d.status}`}`);
    const status = errors.length === 0 ? "sent" : row.attempts >= settings.maxAttempts ? "failed" : "pending";
    result[status === "sent" ? "sent" : status === "failed" ? "failed" : "retrying"] += 1;
    await sql`
      update peakwatch.alert_outbox
      set status = ${status}, delivered_to = ${delivered}::text[], sent_at = case when ${status} = 'sent' then now() end,
          last_error = ${errors.length > 0 ? errors.join("; ").slice(0, 1000) : null}
      where id = ${row.id}`;
  }
  return result;
}
