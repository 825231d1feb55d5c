/**
 * The suite a drill runs against: a running `npm start` found through the settings it keeps in the
 * app database, or one the drill starts itself (`tsx dev/start.ts` as a child in its own process
 * group, stopped with SIGTERM so it pauses the cron jobs on the way out).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { repoRoot } from "../lib/supabase-cli.ts";
import { sleep } from "./outage-lib.ts";

export interface Suite {
  functionsUrl: string;
  serviceKey: string;
  /** True when this drill started it (and will stop it). */
  started: boolean;
  stop(): Promise<void>;
}

async function readSettings(sql: Sql): Promise<{ functionsUrl?: string; serviceKey?: string }> {
  const present = await sql<{ ok: boolean }[]>`select to_regclass('peakwatch.settings') is not null as ok`.catch(() => [{ ok: false }]);
  if (!present[0]?.ok) return {};
  const rows = await sql<{ key: string; value: string }[]>`
    select key, value from peakwatch.settings where key in ('peakwatch_functions_url', 'peakwatch_service_key')`;
  const settings = Object.fromEntries(rows.map((row) => [row.key, row.value]));
  return { functionsUrl: settings.peakwatch_functions_url, serviceKey: settings.peakwatch_service_key };
}

/** Whether the functions server answers health and its cron jobs are switched on (a live `npm start`). */
async function running(sql: Sql, functionsUrl: string | undefined): Promise<boolean> {
  if (!functionsUrl) return false;
  const answered = await fetch(`${functionsUrl}/functions/v1/health`, { signal: AbortSignal.timeout(3_000) }).then((r) => r.status < 500 || r.status === 503, () => false);
  if (!answered) return false;
  const [jobs] = await sql<{ n: number }[]>`select count(*)::int as n from cron.job where jobname = 'peakwatch-tracker' and active`.catch(() => [{ n: 0 }]);
  return (jobs?.n ?? 0) > 0;
}

/**
 * Finds a running suite, or starts `npm start` with `extraEnv` (the drill's own credential secret)
 * and waits until its settings are stored and health answers.
 */
export async function findOrStartSuite(sql: () => Sql, extraEnv: Record<string, string>, log: (m: string) => void): Promise<Suite> {
  const found = await readSettings(sql()).catch(() => ({}) as Awaited<ReturnType<typeof readSettings>>);
  if (found.functionsUrl && found.serviceKey && (await running(sql(), found.functionsUrl))) {
    log(`found a running suite at ${found.functionsUrl}`);
    return { functionsUrl: found.functionsUrl, serviceKey: found.serviceKey, started: false, stop: async () => {} };
  }
  log("no running suite: starting `npm start` (tsx dev/start.ts)");
  const child: ChildProcess = spawn(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["dev/start.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // gone already
        }
        resolve();
      }, 20_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output.slice(-3_000)}`);
    if (output.includes("pg_cron fires them every minute")) {
      const settings = await readSettings(sql());
      if (settings.functionsUrl && settings.serviceKey) {
        log(`started the suite at ${settings.functionsUrl}`);
        return { functionsUrl: settings.functionsUrl, serviceKey: settings.serviceKey, started: true, stop };
      }
    }
    await sleep(1_000);
  }
  await stop();
  throw new Error(`npm start did not come up within 5 minutes:\n${output.slice(-3_000)}`);
}
