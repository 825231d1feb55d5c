import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { adminClient } from "../../dev/lib/postgres.ts";
import { createScratchDatabase } from "../../dev/lib/scratch-database.ts";
import { readStackSettings } from "../../dev/lib/settings.ts";

/**
 * Builds one migrated template database with the real Supabase CLI; every test file then clones
 * it into a database of its own, so files own their data and run in any order.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { adminUrl } = readStackSettings();
  // The tests run peakwatch in local dev: its stand-ins (simulator, auth, webhooks) listen on
  // loopback over plain http. Set here, before test workers and functions servers inherit the env.
  process.env.PEAKWATCH_LOCAL_DEV = "1";
  // Per run, so two test runs on one machine (a developer's and CI's) never share databases.
  const runId = randomBytes(3).toString("hex");
  const template = `pw_tpl_${runId}`;
  const admin = adminClient(adminUrl);
  try {
    await admin`select 1`;
  } catch (error) {
    throw new Error(`tests need PostgreSQL; run \`npm run stack\` first (${(error as Error).message})`);
  }
  await admin.end();
  await createScratchDatabase(adminUrl, template);
  project.provide("templateDb", template);
  project.provide("testDbPrefix", `pw_test_${runId}_`);
  return async () => {
    const cleanup = adminClient(adminUrl);
    const leftovers = await cleanup<{ datname: string }[]>`
      select datname from pg_database where datname = ${template} or starts_with(datname, ${`pw_test_${runId}_`})`;
    for (const { datname } of leftovers) await cleanup.unsafe(`drop database if exists "${datname}" with (force)`);
    await cleanup.end();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDb: string;
    testDbPrefix: string;
  }
}
