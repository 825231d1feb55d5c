import { checkKey, type HealthCheck, type HealthStatus, isWorse } from "../health/types.ts";

/** What alert_state holds for one check, with ages measured by the database clock. */
export interface StoredAlert {
  /** The status last announced. */
  status: HealthStatus;
  since: string;
  /** Seconds since the last notification about this check (or since it entered its status, if never). */
  secondsSinceNotified: number;
  /** What the check read at the last evaluation, and for how long it has read that (hysteresis). */
  observedStatus?: HealthStatus;
  observedSeconds?: number;
}

export interface Transition {
  key: string;
  check: HealthCheck;
  /** null: a check seen for the first time, already failing or warning. */
  from: HealthStatus | null;
  to: HealthStatus;
}

export interface Reminder {
  key: string;
  check: HealthCheck;
  since: string;
}

export interface StateWrite {
  key: string;
  /** The announced status. */
  status: HealthStatus;
  notified: boolean;
  /** What the check reads now, when it differs from `status` (a better status not yet held long enough). */
  observed?: HealthStatus;
}

export interface AlertPlan {
  transitions: Transition[];
  reminders: Reminder[];
  writes: StateWrite[];
}

export interface AlertSettings {
  /** Statuses below this one are not worth a message: with "fail", a warning counts as pass. */
  minStatus: "warn" | "fail";
  /** A check still failing or warning is announced again after this long; 0 never. */
  realertSeconds: number;
  /** A better status is announced only once it has held this long (hysteresis); 0 or unset: at once. */
  clearAfterSeconds?: number;
}

export const alertStatus = (status: HealthStatus, minStatus: AlertSettings["minStatus"]): HealthStatus =>
  minStatus === "fail" && status === "warn" ? "pass" : status;

/**
 * Compares this evaluation with what was last announced. Only changes are announced
 * (pass→warn→fail, back, and recovery to pass), plus a reminder for a check that has stayed bad
 * for `realertSeconds`. Worse news goes out at once; better news only once it has held for
 * `clearAfterSeconds`, so a reading flapping across a threshold sends one alert, not one a minute.
 * A check first seen passing is recorded silently. Checks missing from this evaluation (their area
 * could not be read) keep their state.
 */
export function planAlerts(checks: readonly HealthCheck[], stored: ReadonlyMap<string, StoredAlert>, settings: AlertSettings): AlertPlan {
  const plan: AlertPlan = { transitions: [], reminders: [], writes: [] };
  const seen = new Set<string>();
  const clearAfter = settings.clearAfterSeconds ?? 0;
  for (const check of checks) {
    const key = checkKey(check);
    if (seen.has(key)) continue;
    seen.add(key);
    const status = alertStatus(check.status, settings.minStatus);
    const previous = stored.get(key);
    if (!previous) {
      const announce = status !== "pass";
      if (announce) plan.transitions.push({ key, check, from: null, to: status });
      plan.writes.push({ key, status, notified: announce });
      continue;
    }
    const observed = previous.observedStatus ?? previous.status;
    const heldSeconds = observed === status ? (previous.observedSeconds ?? Number.POSITIVE_INFINITY) : 0;
    const better = isWorse(previous.status, status);
    if (isWorse(status, previous.status) || (better && heldSeconds >= clearAfter)) {
      plan.transitions.push({ key, check, from: previous.status, to: status });
      plan.writes.push({ key, status, notified: true });
    } else if (better) {
      // Not held long enough yet: remember what it reads, announce nothing.
      if (observed !== status) plan.writes.push({ key, status: previous.status, notified: false, observed: status });
    } else if (status !== "pass" && settings.realertSeconds > 0 && previous.secondsSinceNotified >= settings.realertSeconds) {
      plan.reminders.push({ key, check, since: previous.since });
      plan.writes.push({ key, status, notified: true });
    } else if (observed !== status) {
      // Back where it was announced before it held a better status long enough: the flap is over.
      plan.writes.push({ key, status, notified: false });
    }
  }
  // Worst news first.
  plan.transitions.sort((a, b) => (isWorse(a.to, b.to) ? -1 : isWorse(b.to, a.to) ? 1 : a.key.localeCompare(b.key)));
  return plan;
}
