import path from "node:path";
import { runDeno, type DenoResult } from "../../dev/lib/deno.ts";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";

export { denoBin, type DenoResult } from "../../dev/lib/deno.ts";

/** The import map of the dev tools that run under Deno, generated from package.json like every function's. */
export const devConfig = path.join(repoRoot, "dev", "deno.json");

/** Runs the project's deno (the hosted version) with dev/deno.json; `args[0]` is the subcommand. */
export function deno(args: string[], env: Record<string, string> = {}): DenoResult {
  const [subcommand, ...rest] = args;
  return runDeno([subcommand!, "--config", devConfig, ...rest], { env });
}
