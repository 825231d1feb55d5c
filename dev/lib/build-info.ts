import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./supabase-cli.ts";

/**
 * The migration version the functions' code expects, taken from the newest file in
 * supabase/migrations when the maps are built (`npm run maps`), and baked into the deployed code so
 * health can tell when a fix never reached the database (or the database is ahead of the code).
 */
export const buildInfoPath = path.join(repoRoot, "supabase", "functions", "_shared", "health", "build-info.ts");

export function newestMigration(dir = path.join(repoRoot, "supabase", "migrations")): string {
  const versions = readdirSync(dir)
    .map((file) => file.match(/^(\d{14})_.*\.sql$/)?.[1])
    .filter((version): version is string => version !== undefined)
    .sort();
  const newest = versions.at(-1);
  if (!newest) throw new Error(`no migration files in ${dir}`);
  return newest;
}

export function buildInfoText(migration = newestMigration()): string {
  return [
    "// Written by `npm run maps` (dev/lib/build-info.ts); a test fails when it is stale.",
    "/** The newest migration in supabase/migrations when the functions were built. */",
    `export const EXPECTED_MIGRATION = "${migration}";`,
    "",
  ].join("\n");
}

export const buildInfoStale = (): boolean => !existsSync(buildInfoPath) || readFileSync(buildInfoPath, "utf8") !== buildInfoText();
