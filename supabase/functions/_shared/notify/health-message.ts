import { isoTime } from "../health/reading.ts";
import { type HealthCheck, type HealthReport, worst } from "../health/types.ts";
import { clip, type Notification, SEVERITY_EMOJI } from "./message.ts";
import { type AlertPlan, type AlertSettings, alertStatus } from "./plan.ts";

function figure(check: HealthCheck): string {
  if (check.observedValue === null) return "no reading";
  const value = typeof check.observedValue === "number" ? check.observedValue.toLocaleString("en-US", { maximumFractionDigits: 1 }) : check.observedValue;
  return `${value} ${check.observedUnit}`.trim();
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5_400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3_600).toFixed(1)} h`;
}

/**
 * One message per evaluation with every change in it, worst first: a flapping pipeline sends one
 * message a minute at most, not one per check. Outputs go along (alert channels are private).
 */
export function healthNotification(report: HealthReport, plan: AlertPlan, settings: AlertSettings & { statusPageUrl?: string }): Notification {
  const statuses = report.checks.map((check) => alertStatus(check.status, settings.minStatus));
  const overall = worst(statuses);
  const failing = statuses.filter((s) => s === "fail").length;
  const warning = statuses.filter((s) => s === "warn").length;
  const title = overall === "pass"
    ? "peakwatch recovered: all checks pass"
    : `peakwatch ${overall.toUpperCase()}: ${failing} failing, ${warning} warning`;
  const now = Date.parse(report.time);
  const lines = [
    ...plan.transitions.map((t) =>
      `${SEVERITY_EMOJI[t.to]} ${t.key}: ${t.from ?? "new"} → ${t.to} (${figure(t.check)})` + (t.to === "pass" ? "" : ` — ${clip(t.check.output, 200)}`)
    ),
    ...plan.reminders.map((r) =>
      `⏰ ${r.key} still ${alertStatus(r.check.status, settings.minStatus)} for ${duration((now - Date.parse(isoTime(r.since))) / 1000)} ` +
      `(${figure(r.check)}) — ${clip(r.check.output, 200)}`
    ),
  ];
  return { kind: "health", severity: overall, title, lines, ...(settings.statusPageUrl ? { link: settings.statusPageUrl } : {}), time: report.time };
}
