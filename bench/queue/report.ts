import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DrainResult } from "./drain.ts";
import type { BacklogResult } from "./peakwatch.ts";

export const THROUGHPUT_TARGET = 3;
export const BACKLOG_TARGET_MS = 20;

export interface Report {
  startedAt: string;
  environment: Record<string, string | number>;
  drains: DrainResult[];
  ratio: number;
  backlog: BacklogResult;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

export function ratioOf(drains: DrainResult[]): number {
  const ours = drains.find((d) => d.system === "peakwatch")!;
  const fastestOther = Math.max(...drains.filter((d) => d.system !== "peakwatch").map((d) => d.itemsPerSecond));
  return ours.itemsPerSecond / fastestOther;
}

export function formatReport(report: Report): string[] {
  const width = Math.max(...report.drains.map((d) => d.system.length)) + 2;
  const b = report.backlog;
  return [
    ...report.drains.map((d) => {
      const items = d.complete ? `${d.items} items` : `only ${d.items} of ${d.enqueued} items in the time limit`;
      return `${d.system.padEnd(width)}${int(d.itemsPerSecond)} items/s (${items}, ${d.workers} workers, batch ${d.batch}, ${d.seconds.toFixed(2)} s)`;
    }),
    `ratio: peakwatch / fastest other = ${report.ratio.toFixed(2)}x (target >= ${THROUGHPUT_TARGET}x)`,
    `backlog at ${int(b.total)} queued / ${int(b.due)} due: p50 ${b.p50Ms.toFixed(2)} ms, p95 ${b.p95Ms.toFixed(2)} ms (target < ${BACKLOG_TARGET_MS} ms)`,
  ];
}

/** bench/results/ is git-ignored: figures stay on the machine that measured them. */
export function writeReport(benchDir: string, report: Report): string {
  const dir = path.join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `queue-${report.startedAt.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
