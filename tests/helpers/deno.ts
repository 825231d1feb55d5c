import { spawnSync } from "node:child_process";
import path from "node:path";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";

export const denoBin = path.join(repoRoot, "node_modules", ".bin", "deno");

export interface DenoResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real deno binary from node_modules (no download: npm packages resolve from node_modules). */
export function deno(args: string[], env: Record<string, string> = {}): DenoResult {
  const result = spawnSync(denoBin, args, {
    cwd: repoRoot,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
