// Runs under deno; typed so Node's tsc and deno check both accept it (Deno.cpuUsage is not in
// deno's bundled types yet). Falls back to node:process, which Deno implements, where it is absent.
import process from "node:process";

interface DenoLike {
  cpuUsage?: () => { user: number; system: number };
  memoryUsage: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;

export const cpuSource = deno?.cpuUsage ? "Deno.cpuUsage()" : "process.cpuUsage()";

/** CPU time of this process so far (user + system), in ms. */
export function cpuMs(): number {
  const usage = deno?.cpuUsage ? deno.cpuUsage() : process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  return deno ? deno.memoryUsage() : process.memoryUsage();
}

export const env = (name: string): string | undefined => process.env[name];
