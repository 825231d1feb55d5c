import { ensureCronScheduler, ensureDatabase, ensurePgCron, ensurePostgresRunning, hasCronExtension } from "./postgres.ts";
import { functionSettingsPresent, setFunctionJobsActive } from "./cron-jobs.ts";
import { ensureRedis } from "./redis.ts";
import type { StackSettings } from "./settings.ts";
import { pushMigrations } from "./supabase-cli.ts";

export class StackStepError extends Error {
  constructor(readonly step: string, message: string) {
    super(`step "${step}" failed: ${message}`);
    this.name = "StackStepError";
  }
}

async function step<T>(name: string, action: () => Promise<T> | T): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new StackStepError(name, (error as Error).message);
  }
}

export interface Stack {
  /** Stops the services this call started (and nothing it found running). */
  stop(): void;
}

/**
 * PostgreSQL 15+ with pg_cron, Redis, the app database and its migrations (applied by the Supabase
 * CLI). Running it twice changes nothing. A failure names its step.
 */
export async function bringUpStack(settings: StackSettings, log: (message: string) => void): Promise<Stack> {
  const stoppers: Array<() => void> = [];
  const postgres = await step("postgres", () => ensurePostgresRunning(settings, log));
  if (postgres) stoppers.push(postgres);
  await step("pg_cron", () => ensurePgCron(settings, log));
  const redis = await step("redis", () => ensureRedis(settings.redisUrl, log));
  if (redis) stoppers.unshift(redis);
  await step("database", () => ensureDatabase(settings.adminUrl, settings.dbName, log));
  const pushed = await step("migrations", () => pushMigrations(settings.dbUrl, { seed: true }));
  log(pushed.includes("up to date") ? "migrations up to date" : "migrations applied");
  if (!(await step("pg_cron extension", () => hasCronExtension(settings.dbUrl)))) {
    throw new StackStepError("pg_cron extension", `pg_cron was not created in ${settings.dbName}`);
  }
  await step("pg_cron scheduler", () => ensureCronScheduler(settings, log));
  if (!(await step("cron jobs", () => functionSettingsPresent(settings.dbUrl)))) {
    const paused = await step("cron jobs", () => setFunctionJobsActive(settings.dbUrl, false));
    if (paused > 0) log(`paused ${paused} cron jobs that call functions until npm start sets the functions URL and key`);
  }
  return {
    stop() {
      for (const stop of stoppers) {
        try {
          stop();
        } catch {
          // best effort on the way out
        }
      }
    },
  };
}
