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
import { type Channel, deliverAll, type Delivery } from "./deliver.ts";
import { healthNotification } from "./health-message.ts";
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
  /** "busy": another evaluation held the alert lock, so this one announced nothing. */
  skipped?: "busy";
  plan: AlertPlan;
  deliveries: Delivery[];
  /** True when every channel failed: the state was left as it was, so the next evaluation tries again. */
  deliveryFailed: boolean;
  athAlerts: number;
  /** Numbers for the orchestrator's run record (runs.counts); the status page charts healthOverdueP95Seconds. */
  counts: Record<string, number>;
}

const STATUS_CODE: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };
const ALERT_LOCK = "peakwatch.alert_state";
const ATH_LOCK = "peakwatch.ath_notifications";

class EveryChannelFailed extends Error {
  constructor(readonly deliveries: Delivery[]) {
    super("every alert channel failed");
  }
}

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
 * State is written in the same transaction as the sends, after them: if every channel fails the
 * transaction rolls back and the next evaluation announces the same change again. Two evaluations
 * at once never double-send: the second finds the advisory lock taken and skips.
 */
export async function evaluateAndNotify(sql: Sql, options: EvaluateAndNotifyOptions = {}): Promise<NotifyOutcome> {
  const health = options.health ?? loadHealthConfig();
  const notify = options.notify ?? loadNotifyConfig();
  const channels = options.channels ?? configuredChannels(notify, options.fetch, options.egress);
  const report = await evaluateHealth({ sql, ...(options.redis ? { redis: options.redis } : {}), config: health });

  let plan: AlertPlan = { transitions: [], reminders: [], writes: [] };
  let deliveries: Delivery[] = [];
  let deliveryFailed = false;
  let skipped: NotifyOutcome["skipped"];
  try {
    await sql.begin(async (tx) => {
      if (!(await locked(tx, ALERT_LOCK))) {
        skipped = "busy";
        return;
      }
      plan = planAlerts(report.checks, await readAlertStates(tx), notify);
      if (channels.length > 0 && plan.transitions.length + plan.reminders.length > 0) {
        deliveries = await deliverAll(channels, healthNotification(report, plan, notify));
        if (deliveries.every((d) => !d.ok)) throw new EveryChannelFailed(deliveries);
      }
      await writeAlertStates(tx, plan.writes);
    });
  } catch (error) {
    if (!(error instanceof EveryChannelFailed)) throw error;
    deliveryFailed = true;
  }

  const athAlerts = notify.ath && channels.length > 0 ? await announceAths(sql, notify, channels, report.time) : { sent: 0, deliveries: [] };
  deliveries = [...deliveries, ...athAlerts.deliveries];

  for (const d of deliveries.filter((d) => !d.ok)) logEvent("notify.failed", { channel: d.channel, status: d.status, error: d.error }, "warn");
  if (plan.transitions.length + plan.reminders.length > 0) {
    logEvent("notify.health", {
      status: report.status,
      transitions: plan.transitions.map((t) => `${t.key}:${t.from ?? "new"}>${t.to}`),
      reminders: plan.reminders.length,
      delivered: deliveries.filter((d) => d.ok).map((d) => d.channel),
      deliveryFailed,
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
    athAlerts: athAlerts.sent,
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
      athAlerts: athAlerts.sent,
    },
  };
}

/** New-ATH announcements, in their own transaction so a failed send never holds back health state. */
async function announceAths(sql: Sql, notify: NotifyConfig, channels: readonly Channel[], time: string): Promise<{ sent: number; deliveries: Delivery[] }> {
  let result = { sent: 0, deliveries: [] as Delivery[] };
  try {
    await sql.begin(async (tx) => {
      if (!(await locked(tx, ATH_LOCK))) return;
      const alerts = await pendingAthAlerts(tx, notify.ath!);
      if (alerts.length === 0) return;
      const deliveries = await deliverAll(channels, athNotification(alerts, time));
      if (deliveries.every((d) => !d.ok)) throw new EveryChannelFailed(deliveries);
      await recordAthAlerts(tx, alerts);
      result = { sent: alerts.length, deliveries };
    });
  } catch (error) {
    if (!(error instanceof EveryChannelFailed)) throw error;
    result = { sent: 0, deliveries: error.deliveries };
  }
  return result;
}
