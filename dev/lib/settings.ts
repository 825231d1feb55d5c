import { z } from "zod";

const StackEnv = z.object({
  PEAKWATCH_PG_ADMIN_URL: z.string().url().default("postgresql://postgres@127.0.0.1:5432/postgres"),
  PEAKWATCH_DB_NAME: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "lowercase letters, digits and _").default("peakwatch"),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
});

export interface StackSettings {
  adminUrl: string;
  dbName: string;
  dbUrl: string;
  redisUrl: string;
}

export function databaseUrl(adminUrl: string, dbName: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
}

/** Strips the password so a URL can be printed. */
export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

export function readStackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const parsed = StackEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`environment variable ${issue.path.join(".")}: ${issue.message}`);
  }
  const { PEAKWATCH_PG_ADMIN_URL: adminUrl, PEAKWATCH_DB_NAME: dbName, REDIS_URL: redisUrl } = parsed.data;
  return { adminUrl, dbName, dbUrl: databaseUrl(adminUrl, dbName), redisUrl };
}
