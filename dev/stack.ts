/**
 * Brings up what peakwatch needs on this machine and leaves it as it found it when run twice:
 * PostgreSQL 15+ with pg_cron, Redis, the app database and its migrations (applied by the
 * Supabase CLI). Each failure names its step and exits non-zero.
 */
import { readStackSettings, redact, type StackSettings } from "./lib/settings.ts";
import { ensureDatabase, ensurePgCron, ensurePostgresRunning, hasCronExtension } from "./lib/postgres.ts";
import { ensureRedis } from "./lib/redis.ts";
import { pushMigrations } from "./lib/supabase-cli.ts";

const quiet = process.argv.includes("--quiet");
const log = (message: string) => {
  if (!quiet) console.log(`[stack] ${message}`);
};

async function step<T>(name: string, action: () => Promise<T> | T): Promise<T> {
  try {
    return await action();
  } catch (error) {
    console.error(`stack: step "${name}" failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

export async function bringUpStack(settings: StackSettings): Promise<void> {
  await step("postgres", () => ensurePostgresRunning(settings, log));
  await step("pg_cron", () => ensurePgCron(settings, log));
  await step("redis", () => ensureRedis(settings.redisUrl, log));
  await step("database", () => ensureDatabase(settings.adminUrl, settings.dbName, log));
  const pushed = await step("migrations", () => pushMigrations(settings.dbUrl, { seed: true }));
  log(pushed.includes("up to date") ? "migrations up to date" : "migrations applied");
  const cron = await step("pg_cron extension", () => hasCronExtension(settings.dbUrl));
  if (!cron) {
    console.error(`stack: step "pg_cron extension" failed: pg_cron was not created in ${settings.dbName}`);
    process.exit(1);
  }
}

const settings = await step("settings", () => readStackSettings());
await bringUpStack(settings);
log(`ready: database ${redact(settings.dbUrl)}, redis ${redact(settings.redisUrl)}`);
