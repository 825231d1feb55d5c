import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { denoBin, denoEnv } from "./deno.ts";
import { repoRoot } from "./supabase-cli.ts";

export interface FunctionsServer {
  url: string;
  process: ChildProcess;
  output(): string;
  /** Signals the router and every function process (one process group). */
  kill(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** The local stand-in for DENO_DEPLOYMENT_ID: the checked-out commit, marked when the tree has changes. */
export function gitRelease(): string {
  const sha = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: repoRoot, encoding: "utf8" });
  if (sha.status !== 0) return "local";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: repoRoot, encoding: "utf8" }).stdout.trim() !== "";
  return `git-${sha.stdout.trim()}${dirty ? "-dirty" : ""}`;
}

/**
 * Starts dev/functions-server.ts under the project's (hosted-version) deno and waits until it
 * listens. It runs in a process group of its own, so stopping or killing it reaches every
 * function process it started.
 */
export async function startFunctionsServer(env: Record<string, string>, port: number): Promise<FunctionsServer> {
  const config = path.join(repoRoot, "dev", "deno.json");
  const child = spawn(denoBin, ["run", "--config", config, "--allow-net", "--allow-env", "--allow-read", "--allow-run", "--allow-sys", "dev/functions-server.ts"], {
    cwd: repoRoot,
    env: denoEnv({ FUNCTIONS_PORT: String(port), PEAKWATCH_RELEASE: gitRelease(), ...env }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill("SIGKILL");
      reject(new Error(`functions server did not start within 150 s:\n${output}`));
    }, 150_000);
    const check = () => {
      if (output.includes("functions.listening")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`functions server exited (${code}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/functions/v1`,
    process: child,
    output: () => output,
    kill,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          kill("SIGKILL");
          return resolve();
        }
        const timer = setTimeout(() => kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          kill("SIGKILL");
          resolve();
        });
        kill("SIGTERM");
      }),
  };
}
