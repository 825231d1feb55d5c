import { adminClient, bootstrapDatabase } from "./postgres.ts";
import { databaseUrl } from "./settings.ts";
import { pushMigrations } from "./supabase-cli.ts";

/** A new database `name` (dropped first if it exists), empty or a copy of `template`. */
async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  await dropScratchDatabase(adminUrl, name);
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`create database "${name}"${template ? ` template "${template}"` : ""}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  return databaseUrl(adminUrl, name);
}

/** A throw-away database with the real migrations applied, so benchmarks and tools never touch dev data. */
export async function createScratchDatabase(adminUrl: string, name: string): Promise<string> {
  const url = await createDatabase(adminUrl, name);
  try {
    await bootstrapDatabase(url);
    pushMigrations(url);
  } catch (error) {
    await dropScratchDatabase(adminUrl, name);
    throw error;
  }
  return url;
}

/** An empty database (no migrations), for systems that install their own schema. */
export const createEmptyDatabase = (adminUrl: string, name: string): Promise<string> => createDatabase(adminUrl, name);

/** A copy of `template` (e.g. one built by createScratchDatabase): a fresh migrated database in a second, not a CLI push. */
export const cloneScratchDatabase = (adminUrl: string, template: string, name: string): Promise<string> => createDatabase(adminUrl, name, template);

export async function dropScratchDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}
