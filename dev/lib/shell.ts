import { spawnSync } from "node:child_process";

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; throws with the command line and the tail of stderr on failure. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: "utf8",
    input: options.input,
    timeout: options.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${tail}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

export function commandExists(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0;
}

export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/** Debian packages by name, after refreshing the lists (what `apt-get install` needs on a fresh machine). */
export function aptInstall(packages: string[], log: (message: string) => void): void {
  log(`installing ${packages.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env, timeoutMs: 600_000 });
  run("apt-get", ["install", "-y", "-qq", ...packages], { env, timeoutMs: 900_000 });
}
