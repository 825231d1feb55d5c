import type { Sql } from "../db/client.ts";
import type { Egress } from "../egress/fetch.ts";
import { type HealthConfig, loadHealthConfig } from "../health/config.ts";
import { evaluateHealth } from "../health/evaluate.ts";
import type { HealthReport, HealthStatus } from "../health/types.ts";
import type { Redis } from "../limits/redis.ts";
import { logEvent } from "../log.ts";
import { type Query, readAlertStates, writeAlertStates } from "./alert-state.ts";
import { athNotification, pendingAthAlerts, recordAthAlerts } from "./ath.ts";
import { configuredChannels } from "./channels.ts";
import { loadNotifyConfig, type NotifyConfig } from "./config.ts";
import type { Channel, Delivery } from "./deliver.ts";
import { healthNotification } from "./health-message.ts";
import { drainOutbox, type DrainResult, enqueueNotification } from "./outbox.ts";
import { type AlertPlan, planAlerts } from "./plan.ts";

export interface EvaluateAndNotifyOptions {
  /** For the redis:responseTime check; without it that check is skipped with a note. */
  redis?: Redis;
  /** Defaults: read from the environment (HEALTH_*, ALERT_*, ATH_NOTIFY_*). */
  health?: HealthConfig;
  notify?: NotifyConfig;
  /** Instead of the channels the configuration names (tests, or a caller with its own). */
  channels?: readonly Channel[];
  fetch?: typeof fetch;
  egress?: Egress;
}

export interface NotifyOutcome {
  status: HealthStatus;
  report: HealthReport;
  /** "busy": another evaluation held the alert lock, so this one planned nothing. */
  skipped?: "busy";
  plan: AlertPlan;
  /** What this evaluation's outbox drain sent (its own messages and any left from before). */
  deliveries: Delivery[];
  /** True when a message could not reach every channel: it stays in the outbox for the next drain. */
  deliveryFailed: boolean;
  outbox: DrainResult;
  athAlerts: number;
  /** Numbers for the orchestrator's run record (runs.counts); the status page charts healthOverdueP95Seconds. */
  counts: Record<string, number>;
}

const STATUS_CODE: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };
const ALERT_LOCK = "peakwatch.alert_state";
const ATH_LOCK = "peakwatch.ath_notifications";

const locked = async (tx: Query, name: string) => {
  const [row] = await tx<{ locked: boolean }[]>`select pg_try_advisory_xact_lock(hashtextextended(${name}, 0)) as locked`;
  return row!.locked;
};

/**
 * Evaluates every health check and announces what changed since the last announcement (stored in
 * peakwatch.alert_state, so a restart never re-sends). Meant for the orchestrator, once a minute:
 *
 *   afterRun: async (sql) => (await evaluateAndNotify(sql, { redis })).counts
 *
 * Alerts never hold the database: the plan, the alert state and the message (in the outbox) are
 * written in one short transaction under an advisory lock (two evaluations at once never plan the
 * same change twice), which commits before anything is sent. The outbox is drained afterwards; a
 * message that fails stays there and the next evaluation's drain sends it again.
 */
export async function evaluateAndNotify(sql: Sql, options: EvaluateAndNotifyOptions = {}): Promise<NotifyOutcome> {
  const health = options.health ?? loadHealthConfig();
  const notify = options.notify ?? loadNotifyConfig();
  const channels = options.channels ?? configuredChannels(notify, options.fetch, options.egress);
  const report = await evaluateHealth({ sql, ...(options.redis ? { redis: options.redis } : {}), config: health });

  let plan: AlertPlan = { transitions: [], reminders: [], writes: [] };
  let skipped: NotifyOutcome["skipped"];
  await sql.begin(async (tx) => {
    if (!(await locked(tx, ALERT_LOCK))) {
      skipped = "busy";
      return;
    }
    plan = planAlerts(report.checks, await readAlertStates(tx), notify);
    if (channels.length > 0 && plan.transitions.length + plan.reminders.length > 0) {
      await enqueueNotification(tx, healthNotification(report, plan, notify));
    }
    await writeAlertStates(tx, plan.writes);
  });
  const athAlerts = notify.ath && channels.length > 0 ? await queueAths(sql, notify, report.time) : 0;

  const outbox = await drainOutbox(sql, channels);
  const deliveries = outbox.deliveries;
  const deliveryFailed = outbox.retrying + outbox.failed > 0;

  for (const d of deliveries.filter((d) => !d.ok)) logEvent("notify.failed", { channel: d.channel, status: d.status, error: d.error }, "warn");
  if (plan.transitions.length + plan.reminders.length > 0 || outbox.sent + outbox.retrying + outbox.failed > 0) {
    logEvent("notify.health", {
      status: report.status,
      transitions: plan.transitions.map((t) => `${t.key}:${t.from ?? "new"}>${t.to}`),
      reminders: plan.reminders.length,
      delivered: deliveries.filter((d) => d.ok).map((d) => d.channel),
      outboxSent: outbox.sent,
      outboxRetrying: outbox.retrying,
      outboxFailed: outbox.failed,
      outboxResent: outbox.resent,
    });
  }

  // The figures the status page charts, when they could be read.
  const figures: Record<string, number> = {};
  for (const [count, name] of [["healthOverdueP95Seconds", "queue:overdueP95"], ["healthDueCount", "queue:dueBacklog"]] as const) {
    const value = report.checks.find((check) => check.name === name)?.observedValue;
    if (typeof value === "number") figures[count] = value;
  }
  return {
    status: report.status,
    report,
    ...(skipped ? { skipped } : {}),
    plan,
    deliveries,
    deliveryFailed,
    outbox,
    athAlerts,
    counts: {
      healthStatus: STATUS_CODE[report.status],
      healthFailing: report.checks.filter((c) => c.status === "fail").length,
      healthWarning: report.checks.filter((c) => c.status === "warn").length,
      healthEvaluationMs: report.durationMs,
      ...figures,
      alertTransitions: plan.transitions.length,
      alertReminders: plan.reminders.length,
      alertsDelivered: deliveries.filter((d) => d.ok).length,
      alertDeliveryFailures: deliveries.filter((d) => !d.ok).length,
      alertLockBusy: skipped ? 1 : 0,
      alertOutboxRetrying: outbox.retrying,
      alertOutboxFailed: outbox.failed,
      alertOutboxResent: outbox.resent,
      athAlerts,
    },
  };
}

/** New-ATH announcements: recorded with their outbox message in one short transaction of their own. */
async function queueAths(sql: Sql, notify: NotifyConfig, time: string): Promise<number> {
  let queued = 0;
  await sql.begin(async (tx) => {
    if (!(await locked(tx, ATH_LOCK))) return;
    const alerts = await pendingAthAlerts(tx, notify.ath!);
    if (alerts.length === 0) return;
    await enqueueNotification(tx, athNotification(alerts, time));
    await recordAthAlerts(tx, alerts);
    queued = alerts.length;
  });
  return queued;
}
