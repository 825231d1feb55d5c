import { type PostedCall, toIngestCall } from "../calls/call-input.ts";
import { ingestCalls } from "../calls/ingest.ts";
import type { Sql } from "../db/client.ts";
import { emptyCounts, type SourceReport } from "./counts.ts";

export interface RejectedCall {
  /** Position in the posted `calls` array. */
  index: number;
  /** The field at fault, as a body path: `calls.3.address`. */
  path: string;
  reason: string;
}

export interface PostedReport {
  sources: SourceReport[];
  rejected: RejectedCall[];
}

function rejection(index: number, reason: string): RejectedCall {
  const field = reason.match(/^([a-z_]+): /)?.[1];
  return { index, path: field && field !== "call" ? `calls.${index}.${field}` : `calls.${index}`, reason };
}

/**
 * Ingests hand-posted calls, one ingest_calls round trip per source named in the batch. A call the
 * database refuses (a bad address) is reported with its path; the rest go in.
 */
export async function ingestPosted(sql: Sql, calls: readonly PostedCall[], sources: ReadonlyMap<string, { id: number; kind: string }>): Promise<PostedReport> {
  const bySource = new Map<string, number[]>();
  calls.forEach((call, index) => bySource.set(call.source, [...(bySource.get(call.source) ?? []), index]));

  const report: PostedReport = { sources: [], rejected: [] };
  for (const [name, indices] of bySource) {
    const source = sources.get(name);
    if (!source) throw new Error(`ingestPosted: source ${name} was not looked up`);
    const result = await ingestCalls(sql, { sourceId: source.id, calls: indices.map((i) => toIngestCall(calls[i]!)) });
    const rejected = indices.flatMap((index, k) => (result.outcomes[k] === "rejected" ? [rejection(index, result.reasons[k] ?? "rejected")] : []));
    report.rejected.push(...rejected);
    report.sources.push({
      source: name,
      kind: source.kind,
      outcome: rejected.length > 0 ? "partial" : "ok",
      error: rejected.length > 0 ? `${rejected.length} call(s) rejected; first: ${rejected[0]!.path}: ${rejected[0]!.reason}` : null,
      counts: {
        ...emptyCounts(),
        fetched: indices.length,
        newCalls: result.newCalls,
        newTokens: result.newTokens,
        duplicates: result.duplicates,
        rejected: result.rejected,
        copycats: result.copycats,
      },
    });
  }
  report.rejected.sort((a, b) => a.index - b.index);
  return report;
}
