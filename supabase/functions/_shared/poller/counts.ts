import type { IngestResult } from "../calls/ingest.ts";
import type { RunCounts } from "../runs/record.ts";
import type { PollOutcome } from "../sources/finish-poll.ts";

/** What one source contributed to a poller run; returned per source and recorded in runs.counts. */
export interface SourceCounts {
  /** Items read (or posted), readable or not. */
  fetched: number;
  newCalls: number;
  newTokens: number;
  /** Calls already stored (same source and external id), including repeats within a batch. */
  duplicates: number;
  /** Items that did not go in: unreadable, or refused by the database (bad address …). */
  rejected: number;
  /** Items left out on purpose (a chain the source is not configured for). */
  skipped: number;
  /** Tokens newly flagged as copycats of a ticker. */
  copycats: number;
  /** Pages read and stored. */
  pages: number;
  /** Failed reads and writes. */
  errors: number;
  /** Reads our own shared rate limit had no slot for. */
  throttled: number;
}

export const emptyCounts = (): SourceCounts => ({
  fetched: 0,
  newCalls: 0,
  newTokens: 0,
  duplicates: 0,
  rejected: 0,
  skipped: 0,
  copycats: 0,
  pages: 0,
  errors: 0,
  throttled: 0,
});

/** deferred: the run ran out of time (or was shut down) before the source's first read. */
export type SourceOutcome = PollOutcome | "deferred";

export interface SourceReport {
  source: string;
  kind: string;
  outcome: SourceOutcome;
  /** What went wrong, also stored in sources.last_error. */
  error: string | null;
  counts: SourceCounts;
}

export function addIngested(counts: SourceCounts, read: { calls: number; unreadable: number; skipped: number }, result: IngestResult): void {
  counts.fetched += read.calls + read.unreadable + read.skipped;
  counts.skipped += read.skipped;
  counts.rejected += read.unreadable + result.rejected;
  counts.newCalls += result.newCalls;
  counts.duplicates += result.duplicates;
  counts.newTokens += result.newTokens;
  counts.copycats += result.copycats;
}

export function totalCounts(reports: readonly SourceReport[]): SourceCounts {
  const total = emptyCounts();
  for (const { counts } of reports) {
    for (const key of Object.keys(total) as Array<keyof SourceCounts>) total[key] += counts[key];
  }
  return total;
}

const PER_SOURCE: ReadonlyArray<keyof SourceCounts> = ["fetched", "newCalls", "newTokens", "duplicates", "rejected", "errors"];

/** runs.counts is flat: the totals, the number of sources (and of deferred ones), and `<source>/<count>` for each source. */
export function runCounts(reports: readonly SourceReport[]): RunCounts {
  const deferred = reports.filter((report) => report.outcome === "deferred").length;
  const counts: RunCounts = { sources: reports.length, deferred, ...totalCounts(reports) };
  for (const report of reports) {
    for (const key of PER_SOURCE) counts[`${report.source}/${key}`] = report.counts[key];
  }
  return counts;
}

/** partial when any source failed, lost items, or was not reached within the time budget. */
export const runOutcome = (reports: readonly SourceReport[]): PollOutcome =>
  reports.some((r) => r.outcome !== "ok" || r.counts.rejected > 0) ? "partial" : "ok";
