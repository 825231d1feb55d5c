// Runs under deno; typed so Node's tsc and deno check both accept it. The hosted Deno (2.1.4) has
// neither Deno.cpuUsage() (newer Denos) nor a working process.cpuUsage() (it answers zeros), so on
// Linux CPU time comes from the scheduler: the sum of every thread's run time in /proc/self/task.
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

interface DenoLike {
  cpuUsage?: () => { user: number; system: number };
  memoryUsage: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;

/** ns on CPU of every thread of this process (schedstat's first field), or null off Linux. */
function schedstatMs(): number | null {
  try {
    let ns = 0;
    for (const task of readdirSync("/proc/self/task")) ns += Number(readFileSync(`/proc/self/task/${task}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return null;
  }
}

export const cpuSource = deno?.cpuUsage ? "Deno.cpuUsage()" : schedstatMs() !== null ? "/proc/self/task/*/schedstat" : "process.cpuUsage()";

/** CPU time of this process so far (all threads), in ms. */
export function cpuMs(): number {
  if (deno?.cpuUsage) {
    const usage = deno.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  const scheduled = schedstatMs();
  if (scheduled !== null) return scheduled;
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  return deno ? deno.memoryUsage() : process.memoryUsage();
}

export const env = (name: string): string | undefined => process.env[name];
