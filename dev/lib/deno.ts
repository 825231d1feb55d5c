import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./supabase-cli.ts";

/**
 * The Deno that hosted Supabase Edge Runtime runs (edge-runtime 1.67+ reports "compatible with Deno
 * v2.1.4"; the hosted platform moved to Deno 2.1 in 2025, supabase/cli#4065). package.json pins the
 * npm `deno` package to it, so `npm start`, the tests and the deploy check all run this version.
 */
export const HOSTED_DENO_VERSION = "2.1.4";

/**
 * The deno executable itself, not the npm package's node wrapper (node_modules/.bin/deno): the
 * wrapper runs deno as a child, so a signal sent to it would orphan the real process. The wrapper
 * links the executable into node_modules/deno on first use; we ask it once when that has not happened.
 */
function denoExecutable(): string {
  const executable = path.join(repoRoot, "node_modules", "deno", process.platform === "win32" ? "deno.exe" : "deno");
  if (!existsSync(executable)) spawnSync(path.join(repoRoot, "node_modules", ".bin", "deno"), ["--version"], { stdio: "ignore" });
  return executable;
}

export const denoBin = denoExecutable();

/**
 * Environment for every deno we start. DENO_TLS_CA_STORE=system: Deno 2.1 trusts only its bundled
 * roots by default, and a registry reached through a proxy with its own CA (as here) would be refused.
 */
export function denoEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", DENO_TLS_CA_STORE: "system", ...extra };
}

export interface DenoResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runDeno(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): DenoResult {
  const result = spawnSync(denoBin, args, {
    cwd: options.cwd ?? repoRoot,
    env: denoEnv(options.env),
    encoding: "utf8",
    timeout: options.timeoutMs ?? 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? (result.error?.message ?? "") };
}

export function installedDenoVersion(): string {
  return runDeno(["--version"]).stdout.match(/^deno (\S+)/)?.[1] ?? "unknown";
}
