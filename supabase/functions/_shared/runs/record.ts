import type { Sql } from "../db/client.ts";
import { redactText } from "../egress/redact.ts";
import { releaseId } from "../runtime.ts";

export type RunOutcome = "ok" | "partial" | "error";
export type RunTrigger = "http" | "cron" | "orchestrator" | "test";
export type RunCounts = Record<string, number>;

export async function startRun(sql: Sql, functionName: string, trigger: RunTrigger = "http"): Promise<number> {
  const [row] = await sql<{ id: number }[]>`select peakwatch.run_start(${functionName}, ${trigger}, ${releaseId()}) as id`;
  return row!.id;
}

export async function finishRun(
  sql: Sql,
  runId: number,
  outcome: RunOutcome,
  counts: RunCounts,
  error?: string,
): Promise<void> {
  await sql`select peakwatch.run_finish(${runId}, ${outcome}, ${sql.json(counts)}, ${error === undefined ? null : redactText(error)})`;
}

/**
 * Runs `work` as a recorded invocation. A thrown error is recorded as outcome "error" with its
 * message and rethrown, so a crash is never only a log line. Work that finishes but failed in part
 * may return an `error` summary to record beside its counts.
 */
export async function recordRun<T extends { counts: RunCounts; outcome?: RunOutcome; error?: string }>(
  sql: Sql,
  functionName: string,
  trigger: RunTrigger,
  work: (runId: number) => Promise<T>,
): Promise<T & { runId: number }> {
  const runId = await startRun(sql, functionName, trigger);
  try {
    const result = await work(runId);
    await finishRun(sql, runId, result.outcome ?? "ok", result.counts, result.error);
    return { ...result, runId };
  } catch (error) {
    await finishRun(sql, runId, "error", {}, error instanceof Error ? error.message : String(error));
    throw error;
  }
}
