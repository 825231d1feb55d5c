import { z } from "zod";
import { envSnapshot } from "./env.ts";

/** Thrown when the environment is incomplete; the message names each variable to fix, never a value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment once with `schema`; the error names every missing or invalid variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = envSnapshot()): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`environment: ${problems.join("; ")}`);
}

const optionalUrl = z.url().optional();
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL");

export const sharedEnv = z.object({
  /** Ours, so it can be set on hosted Supabase (SUPABASE_* secrets are reserved): the transaction pooler URL. */
  PEAKWATCH_DB_URL: postgresUrl.optional(),
  SUPABASE_DB_URL: postgresUrl.optional(),
  /** Full verification of the database's certificate: a PEM file path, or the PEM itself. */
  PEAKWATCH_DB_CA_FILE: z.string().min(1).optional(),
  PEAKWATCH_DB_CA_CERT: z.string().includes("BEGIN CERTIFICATE", { message: "must be a PEM certificate" }).optional(),
  // No default: an edge function must never quietly talk to a Redis on 127.0.0.1.
  REDIS_URL: z.string({ error: "is required (rediss://… of your Redis)" }).regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
  /** Redis key prefix; every instance sharing a quota, breaker or credential uses the same one. */
  PEAKWATCH_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default("peakwatch:"),
  DEXSCREENER_BASE_URL: optionalUrl,
  GECKOTERMINAL_BASE_URL: optionalUrl,
  /** GeckoTerminal's one budget for everything (limits/budget.ts); the public API allows 30/min. Stand-ins scale it. */
  GECKOTERMINAL_CALLS_PER_MINUTE: z.coerce.number().min(1).max(100_000).default(29),
});

export type SharedEnv = z.infer<typeof sharedEnv>;
