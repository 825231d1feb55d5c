import { fileURLToPath } from "node:url";
import path from "node:path";
import { run } from "./shell.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const supabaseBin = path.join(repoRoot, "node_modules", ".bin", "supabase");

function supabase(args: string[]): string {
  // The CLI asks before touching a remote database; --yes answers for us, SUPABASE_YES for older builds.
  return run(supabaseBin, [...args, "--yes"], {
    cwd: repoRoot,
    env: { ...process.env, PGSSLMODE: process.env.PGSSLMODE ?? "disable", SUPABASE_YES: "1", DO_NOT_TRACK: "1", SUPABASE_TELEMETRY_DISABLED: "1" },
  }).stdout;
}

/**
 * Applies pending migrations and records them in supabase_migrations.schema_migrations; with
 * `seed`, also runs supabase/seed.sql once (the CLI records its hash in seed_files).
 * `--include-all` applies a pending file even when a later-numbered one is already in (work on
 * several migrations lands in any order); without it the CLI refuses.
 */
export function pushMigrations(dbUrl: string, options: { seed?: boolean } = {}): string {
  return supabase(["db", "push", `--remote=${dbUrl}`, "--include-all", ...(options.seed ? ["--include-seed"] : [])]);
}

const denoBin = path.join(repoRoot, "node_modules", ".bin", "deno");

/** `supabase gen types` output, formatted by `deno fmt` so the committed file reads well and diffs cleanly. */
export function generateTypes(dbUrl: string): string {
  const raw = supabase(["gen", "types", "typescript", `--remote=${dbUrl}`, "--schema", "peakwatch"]);
  return run(denoBin, ["fmt", "--ext=ts", "-"], { cwd: repoRoot, input: raw }).stdout;
}

export function lintDatabase(dbUrl: string): string {
  return supabase(["db", "lint", `--remote=${dbUrl}`, "--schema", "peakwatch", "--level", "warning", "--fail-on", "warning"]);
}
