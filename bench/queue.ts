/**
 * Queue benchmark: drains 100,000 items through peakwatch's claim/complete, pg-boss and
 * graphile-worker on one throw-away database, then times backlog() over a 1,000,000-row queue.
 * Run with `npm run bench:queue`; figures go to stdout and bench/results/queue-<timestamp>.json.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { adminClient } from "../dev/lib/postgres.ts";
import { readStackSettings } from "../dev/lib/settings.ts";
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import type { DrainConfig, DrainResult } from "./queue/drain.ts";
import { benchGraphile } from "./queue/graphile.ts";
import { benchBacklog, benchPeakwatch } from "./queue/peakwatch.ts";
import { benchPgBoss } from "./queue/pgboss.ts";
import { formatReport, ratioOf, writeReport, type Report } from "./queue/report.ts";

const DB_NAME = "peakwatch_bench";
const ITEMS = 100_000;
const WORKERS = 4;
const BATCH = 100;
// Per drain; with the fills and the backlog phase the worst case stays under TOTAL_LIMIT_MS.
const DRAIN_LIMIT_MS = 180_000;
const TOTAL_LIMIT_MS = 10 * 60_000;

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const progress = (message: string) => console.error(`[bench:queue] ${message}`);

async function serverVersion(url: string): Promise<string> {
  const sql = adminClient(url);
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    return row!.v;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(): Promise<void> {
  const { adminUrl } = readStackSettings();
  // The whole run is bounded: past the limit the database is dropped and the process exits.
  const watchdog = setTimeout(() => {
    progress(`still running after ${TOTAL_LIMIT_MS / 60_000} minutes; giving up`);
    void dropScratchDatabase(adminUrl, DB_NAME).finally(() => process.exit(2));
  }, TOTAL_LIMIT_MS);
  watchdog.unref();

  const startedAt = new Date().toISOString();
  progress(`creating database ${DB_NAME} and applying migrations`);
  const url = await createScratchDatabase(adminUrl, DB_NAME);
  try {
    const drainConfig = (): DrainConfig => ({ items: ITEMS, workers: WORKERS, batch: BATCH, deadline: Date.now() + DRAIN_LIMIT_MS });
    const drains: DrainResult[] = [];
    for (const [name, bench] of [
      ["peakwatch", benchPeakwatch],
      ["pg-boss", benchPgBoss],
      ["graphile-worker", benchGraphile],
    ] as const) {
      progress(`${name}: enqueue ${ITEMS} and drain with ${WORKERS} workers`);
      drains.push(await bench(url, drainConfig()));
    }
    progress("backlog: filling the queue to 1,000,000 rows");
    const backlog = await benchBacklog(url, { total: 1_000_000, due: 100_000, dueNew: 10_000, calls: 50, chunk: 250_000 });

    const report: Report = {
      startedAt,
      environment: {
        node: process.version,
        postgres: await serverVersion(url),
        cpus: os.cpus().length,
        platform: `${os.platform()} ${os.release()}`,
      },
      drains,
      ratio: ratioOf(drains),
      backlog,
    };
    for (const line of formatReport(report)) console.log(line);
    progress(`figures written to ${path.relative(process.cwd(), writeReport(benchDir, report))}`);
  } finally {
    await dropScratchDatabase(adminUrl, DB_NAME);
    clearTimeout(watchdog);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
