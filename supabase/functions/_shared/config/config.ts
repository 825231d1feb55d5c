import { z } from "zod";
import { envSnapshot } from "./env.ts";

/** Thrown at startup when the environment is incomplete; the message names each variable to fix. */
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

export const sharedEnv = z.object({
  SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").default("redis://127.0.0.1:6379"),
  /** Redis key prefix; every instance sharing a quota, breaker or credential uses the same one. */
  PEAKWATCH_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default("peakwatch:"),
  DEXSCREENER_BASE_URL: optionalUrl,
  GECKOTERMINAL_BASE_URL: optionalUrl,
});
