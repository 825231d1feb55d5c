/** The IETF health-check draft's statuses, worst last. */
export type HealthStatus = "pass" | "warn" | "fail";

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

export const worst = (statuses: Iterable<HealthStatus>): HealthStatus => {
  let result: HealthStatus = "pass";
  for (const status of statuses) if (RANK[status] > RANK[result]) result = status;
  return result;
};

export const isWorse = (a: HealthStatus, b: HealthStatus): boolean => RANK[a] > RANK[b];

/** One reading, keyed `component:measurement` in the answer; `componentId` tells instances apart. */
export interface HealthCheck {
  name: string;
  componentId?: string;
  componentType: "component" | "datastore" | "system";
  observedValue: number | string | null;
  observedUnit: string;
  status: HealthStatus;
  time: string;
  /** Detail for operators (last error, worst offenders): only in answers to the service key. */
  output: string;
}

/** The short summary the system peakwatch replaces used to answer with. */
export interface HealthSummary {
  lastRun: { function: string; startedAt: string; outcome: string } | null;
  unprocessedTokens: number | null;
  /** Median seconds that due queue rows are overdue (backlog p50); 0 when nothing is due. */
  averageLag: number | null;
}

export interface HealthReport {
  status: HealthStatus;
  time: string;
  summary: HealthSummary;
  checks: HealthCheck[];
  /** Checks skipped because what they read is not installed here (pg_cron, poller counters, …). */
  notes: string[];
  /** Milliseconds the evaluation took. */
  durationMs: number;
}

/** Identifies a check instance across evaluations (alert state is keyed by it). */
export const checkKey = (check: Pick<HealthCheck, "name" | "componentId">): string =>
  check.componentId ? `${check.name}#${check.componentId}` : check.name;
