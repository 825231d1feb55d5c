import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { repoRoot } from "./supabase-cli.ts";

export interface FunctionsServer {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts dev/functions-server.ts under the real deno binary and waits until it listens. */
export async function startFunctionsServer(env: Record<string, string>, port: number): Promise<FunctionsServer> {
  const deno = path.join(repoRoot, "node_modules", ".bin", "deno");
  const child = spawn(deno, ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "dev/functions-server.ts"], {
    cwd: repoRoot,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", FUNCTIONS_PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`functions server did not start within 60 s:\n${output}`)), 60_000);
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
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
