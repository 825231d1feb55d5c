import type { Sql } from "../db/client.ts";
import type { Redis } from "../limits/redis.ts";
import { type HealthConfig, thresholdOf } from "./config.ts";
import { CHECKS, type CheckSpec, functionCheckSpec, type FunctionMeasurement, grade } from "./thresholds.ts";
import type { HealthCheck, HealthStatus, HealthSummary } from "./types.ts";

/** What every area of checks gets: one pool, Redis when configured, the settings, one timestamp. */
export interface CheckContext {
  sql: Sql;
  redis?: Redis;
  config: HealthConfig;
  time: string;
}

export interface AreaResult {
  checks: HealthCheck[];
  notes?: string[];
  summary?: Partial<HealthSummary>;
}

export interface ReadingOptions {
  componentId?: string;
  /** A status decided by the caller (e.g. "missing" fails); otherwise graded against the thresholds. */
  status?: HealthStatus;
  /** The value the thresholds are compared with, when it differs from the published one. */
  gradedValue?: number | null;
}

function specOf(name: string): CheckSpec {
  if (name in CHECKS) return CHECKS[name as keyof typeof CHECKS];
  const [fn, measurement] = name.split(":") as [string, FunctionMeasurement];
  return functionCheckSpec(fn, measurement);
}

/** One check in the draft's shape, graded against its configured warn/fail limits. */
export function reading(ctx: CheckContext, name: string, value: number | string | null, output: string, options: ReadingOptions = {}): HealthCheck {
  const spec = specOf(name);
  const graded = options.gradedValue !== undefined ? options.gradedValue : typeof value === "number" ? value : null;
  return {
    name,
    ...(options.componentId !== undefined ? { componentId: options.componentId } : {}),
    componentType: spec.componentType,
    observedValue: typeof value === "number" ? round(value) : value,
    observedUnit: spec.unit,
    status: options.status ?? grade(graded, thresholdOf(ctx.config, name), spec.direction),
    time: ctx.time,
    output,
  };
}

/** Figures are read by people and JSON queries: three decimals are plenty. */
export const round = (value: number): number => Math.round(value * 1000) / 1000;

/** Postgres' text form of a timestamptz (`2026-11-26 00:58:19.23+00`) as ISO 8601 in UTC. */
export function isoTime<T extends string | null>(value: T): T {
  if (value === null) return value;
  const ms = Date.parse(value.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00"));
  return (Number.isNaN(ms) ? value : new Date(ms).toISOString()) as T;
}
