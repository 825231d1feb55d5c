import { adminClient, bootstrapDatabase } from "./postgres.ts";
import { databaseUrl } from "./settings.ts";
import { pushMigrations } from "./supabase-cli.ts";

/** A throw-away database with the real migrations applied, so benchmarks and tools never touch dev data. */
export async function createBenchDatabase(adminUrl: string, name: string): Promise<string> {
  await dropBenchDatabase(adminUrl, name);
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = databaseUrl(adminUrl, name);
  await bootstrapDatabase(url);
  pushMigrations(url);
  return url;
}

export async function dropBenchDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}
