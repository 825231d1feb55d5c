import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { denoBin, denoEnv, installedDenoVersion, runDeno, type DenoResult } from "./deno.ts";
import { functionConfigPath, functionLockPath, functionNames } from "./function-maps.ts";
import { repoRoot } from "./supabase-cli.ts";

/** The platform's limit on a function's bundle (Supabase Edge Functions limits). */
export const BUNDLE_LIMIT_BYTES = 20 * 1024 * 1024;

/**
 * A copy of exactly what `supabase functions deploy` uploads — supabase/functions and the
 * config.toml it reads — in an empty folder, with an empty DENO_DIR: no node_modules, no repo-root
 * deno.json or package.json, so npm packages come from the registry as they do on deploy.
 */
export interface Stage {
  dir: string;
  functionsDir: string;
  denoDir: string;
  denoVersion: string;
  cleanup(): void;
}

export function stageDeployUpload(options: { withoutLocks?: boolean } = {}): Stage {
  const dir = mkdtempSync(path.join(tmpdir(), "peakwatch-deploy-"));
  const functionsDir = path.join(dir, "supabase", "functions");
  mkdirSync(path.dirname(functionsDir), { recursive: true });
  cpSync(path.join(repoRoot, "supabase", "functions"), functionsDir, {
    recursive: true,
    filter: (source) => !source.split(path.sep).includes("node_modules") && !(options.withoutLocks && source.endsWith("deno.lock")),
  });
  cpSync(path.join(repoRoot, "supabase", "config.toml"), path.join(dir, "supabase", "config.toml"));
  // The local host that stands in for the edge runtime's worker boot; not part of the upload.
  mkdirSync(path.join(dir, "dev"));
  cpSync(path.join(repoRoot, "dev", "function-host.ts"), path.join(dir, "dev", "function-host.ts"));
  const denoDir = path.join(dir, ".deno-dir");
  mkdirSync(denoDir);
  return {
    dir,
    functionsDir,
    denoDir,
    denoVersion: installedDenoVersion(),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What must not be in a deploy upload; an empty list when the stage is clean. */
export function stageIntruders(stage: Stage): string[] {
  const found: string[] = [];
  for (const file of ["deno.json", "deno.jsonc", "package.json", "node_modules", "supabase/deno.json", "supabase/functions/node_modules"]) {
    if (existsSync(path.join(stage.dir, file))) found.push(file);
  }
  return found;
}

function functionArgs(stage: Stage, name: string, frozen: boolean): string[] {
  return ["--config", functionConfigPath(name, stage.functionsDir), `--lock=${functionLockPath(name, stage.functionsDir)}`, ...(frozen ? ["--frozen"] : [])];
}

const stageEnv = (stage: Stage) => ({ DENO_DIR: stage.denoDir });

/** `deno cache` with only the function's own config; `frozen` fails when the committed lock is stale. */
export function cacheFunction(stage: Stage, name: string, options: { frozen?: boolean } = {}): DenoResult {
  const entry = path.join(stage.functionsDir, name, "index.ts");
  return runDeno(["cache", ...functionArgs(stage, name, options.frozen ?? true), entry], { cwd: stage.dir, env: stageEnv(stage) });
}

/**
 * `deno check` with only the function's own config. The lock is verified by `cacheFunction` (frozen);
 * check runs without it because Deno 2.1 adds a synthetic @types/node for `node:` imports while
 * type-checking, which no lock it writes records — a type-only package deploy never bundles.
 */
export function checkFunction(stage: Stage, name: string): DenoResult {
  const entry = path.join(stage.functionsDir, name, "index.ts");
  return runDeno(["check", "--config", functionConfigPath(name, stage.functionsDir), "--no-lock", entry], { cwd: stage.dir, env: stageEnv(stage) });
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}

export interface NpmPackageSize {
  name: string;
  version: string;
  bytes: number;
}

/** The npm packages the function's lock resolves, with their unpacked size in the stage's DENO_DIR. */
export function npmPackageSizes(stage: Stage, name: string): NpmPackageSize[] {
  const lock = JSON.parse(readFileSync(functionLockPath(name, stage.functionsDir), "utf8")) as { npm?: Record<string, unknown> };
  return Object.keys(lock.npm ?? {}).map((key) => {
    const at = key.lastIndexOf("@");
    const packageName = key.slice(0, at);
    const version = key.slice(at + 1).split("_")[0]!;
    const dir = path.join(stage.denoDir, "npm", "registry.npmjs.org", packageName, version);
    return { name: packageName, version, bytes: existsSync(dir) ? directoryBytes(dir) : 0 };
  });
}

export interface BootedFunction {
  url: string;
  bootMs: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Boots one staged function the way the platform does: its own process, its own config and lock. */
export async function bootFunction(stage: Stage, name: string, port: number, env: Record<string, string>): Promise<BootedFunction> {
  const started = performance.now();
  const child = spawn(denoBin, [
    "run", ...functionArgs(stage, name, true), "--allow-net", "--allow-env", "--allow-read", "--allow-sys",
    path.join(stage.dir, "dev", "function-host.ts"), name, String(port),
  ], { cwd: stage.dir, env: { ...denoEnv(stageEnv(stage)), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not boot within 60 s:\n${output}`)), 60_000);
    child.stdout!.on("data", () => {
      if (output.includes("function.listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during boot (${code}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/${name}`,
    bootMs: Math.round(performance.now() - started),
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

export const functionsToDeploy = (stage?: Stage) => functionNames(stage?.functionsDir);
