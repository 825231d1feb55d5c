import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { CHECKS, type CheckSpec, FUNCTION_MEASUREMENTS, functionCheckSpec, ordered, type Threshold } from "./thresholds.ts";

const csv = (pattern: RegExp, what: string) =>
  z
    .string()
    .transform((value) => value.split(",").map((item) => item.trim()).filter((item) => item !== ""))
    .pipe(z.array(z.string().regex(pattern, what)).max(50));

const seconds = (fallback: number, max = 7 * 86_400) => z.coerce.number().int().min(0).max(max).default(fallback);

const limit = z.number().finite().nullable().optional();
const overrides = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be JSON, e.g. {"tracker:lastSuccessAge":{"fail":900}}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.strictObject({ warn: limit, fail: limit })));

/** `NAME=` (as copied from .env.example) means unset, not an empty value. */
export const blankAsUnset = (env: unknown): unknown =>
  env && typeof env === "object" ? Object.fromEntries(Object.entries(env).filter(([, value]) => value !== "")) : env;

const variables = z.object({
  HEALTH_FUNCTIONS: csv(/^[a-z][a-z0-9-]{0,39}$/, "a function name").default(["tracker", "poller", "orchestrator", "token-refresh", "candles"]),
  HEALTH_THRESHOLDS: overrides.default({}),
  HEALTH_RECENT_RUNS: z.coerce.number().int().min(1).max(100).default(10),
  HEALTH_FRESH_GRACE_SECONDS: seconds(120),
  HEALTH_CONVERSION_WINDOW_SECONDS: seconds(3_600),
  HEALTH_CONVERSION_SETTLE_SECONDS: seconds(180),
  HEALTH_CONVERSION_MIN_CALLS: z.coerce.number().int().min(1).max(100_000).default(5),
  HEALTH_PARSE_WINDOW_SECONDS: seconds(120),
  HEALTH_COPYCAT_WINDOW_SECONDS: seconds(3_600),
  HEALTH_COPYCAT_MIN_TOKENS: z.coerce.number().int().min(2).max(100).default(3),
  HEALTH_CREDENTIALS: csv(/^[a-z0-9][a-z0-9_-]{0,63}$/, "a credential name").default([]),
  HEALTH_CHECK_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(2_500),
  HEALTH_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(5_000),
  HEALTH_CHART_HOURS: z.coerce.number().int().min(1).max(72).default(6),
  /** How long after a bar closes before a candle stream missing it counts as late (collector cadence + provider lag). */
  HEALTH_CANDLES_GRACE_SECONDS: seconds(60, 3_600),
  /** Where the trackers keep the providers' breakers (providers:unavailableFor reads them). */
  PEAKWATCH_REDIS_PREFIX: sharedEnv.shape.PEAKWATCH_REDIS_PREFIX,
});

/** Every check's limits: the defaults, then HEALTH_THRESHOLDS by check name (unknown names and swapped limits refused). */
function resolveThresholds(env: z.infer<typeof variables>, ctx: z.RefinementCtx): Record<string, Threshold> {
  const specs = new Map<string, CheckSpec>(Object.entries(CHECKS));
  for (const fn of env.HEALTH_FUNCTIONS) {
    for (const measurement of FUNCTION_MEASUREMENTS) specs.set(`${fn}:${measurement}`, functionCheckSpec(fn, measurement));
  }
  const thresholds: Record<string, Threshold> = {};
  for (const [name, { threshold }] of specs) thresholds[name] = { ...threshold };
  for (const [name, override] of Object.entries(env.HEALTH_THRESHOLDS)) {
    const known = specs.get(name);
    if (!known) {
      ctx.addIssue({ code: "custom", path: ["HEALTH_THRESHOLDS"], message: `unknown check "${name}"` });
      continue;
    }
    const merged = { ...thresholds[name]!, ...override } as Threshold;
    if (!ordered(merged, known.direction)) {
      const relation = known.direction === "above" ? "at most" : "at least";
      ctx.addIssue({ code: "custom", path: ["HEALTH_THRESHOLDS"], message: `"${name}": warn must be ${relation} fail` });
    }
    thresholds[name] = merged;
  }
  return thresholds;
}

/**
 * Health settings, read once from the environment; every threshold has a default and can be
 * overridden by check name in HEALTH_THRESHOLDS (JSON), e.g. {"queue:dueBacklog":{"warn":500}}.
 */
export const healthEnv = z.preprocess(blankAsUnset, variables).transform((env, ctx) => ({
  functions: env.HEALTH_FUNCTIONS,
  thresholds: resolveThresholds(env, ctx),
  recentRuns: env.HEALTH_RECENT_RUNS,
  freshGraceSeconds: env.HEALTH_FRESH_GRACE_SECONDS,
  conversion: {
    windowSeconds: env.HEALTH_CONVERSION_WINDOW_SECONDS,
    settleSeconds: Math.min(env.HEALTH_CONVERSION_SETTLE_SECONDS, env.HEALTH_CONVERSION_WINDOW_SECONDS),
    minCalls: env.HEALTH_CONVERSION_MIN_CALLS,
  },
  parseWindowSeconds: env.HEALTH_PARSE_WINDOW_SECONDS,
  copycats: { windowSeconds: env.HEALTH_COPYCAT_WINDOW_SECONDS, minTokens: env.HEALTH_COPYCAT_MIN_TOKENS },
  credentials: env.HEALTH_CREDENTIALS,
  checkTimeoutMs: env.HEALTH_CHECK_TIMEOUT_MS,
  cacheMs: env.HEALTH_CACHE_MS,
  chartHours: env.HEALTH_CHART_HOURS,
  candles: { graceSeconds: env.HEALTH_CANDLES_GRACE_SECONDS },
  redisPrefix: env.PEAKWATCH_REDIS_PREFIX,
}));

export type HealthConfig = z.infer<typeof healthEnv>;

/** Health settings from `env` (the process or isolate environment by default); throws ConfigError naming each bad variable. */
export const loadHealthConfig = (env?: Record<string, string | undefined>): HealthConfig => loadConfig(healthEnv, env);

/** The limits of a check; per-source and per-credential checks share their name's entry. */
export function thresholdOf(config: HealthConfig, name: string): Threshold {
  const threshold = config.thresholds[name];
  if (!threshold) throw new Error(`no thresholds for check "${name}"`);
  return threshold;
}
