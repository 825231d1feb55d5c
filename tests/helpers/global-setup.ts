import type { TestProject } from "vitest/node";
import { bootstrapDatabase, adminClient } from "../../dev/lib/postgres.ts";
import { databaseUrl, readStackSettings } from "../../dev/lib/settings.ts";
import { pushMigrations } from "../../dev/lib/supabase-cli.ts";

export const TEMPLATE_DB = "peakwatch_test_template";

/**
 * Builds one migrated template database with the real Supabase CLI; every test file then clones
 * it into a database of its own, so files own their data and run in any order.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { adminUrl } = readStackSettings();
  const admin = adminClient(adminUrl);
  try {
    await admin`select 1`;
  } catch (error) {
    throw new Error(`tests need PostgreSQL; run \`npm run stack\` first (${(error as Error).message})`);
  }
  await admin.unsafe(`drop database if exists ${TEMPLATE_DB} with (force)`);
  await admin.unsafe(`create database ${TEMPLATE_DB}`);
  const templateUrl = databaseUrl(adminUrl, TEMPLATE_DB);
  await bootstrapDatabase(templateUrl);
  pushMigrations(templateUrl);
  await admin.end();
  project.provide("templateDb", TEMPLATE_DB);
  return async () => {
    const cleanup = adminClient(adminUrl);
    const leftovers = await cleanup<{ datname: string }[]>`
      select datname from pg_database where datname like 'pw_test_%'`;
    for (const { datname } of leftovers) await cleanup.unsafe(`drop database if exists "${datname}" with (force)`);
    await cleanup.end();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDb: string;
  }
}
