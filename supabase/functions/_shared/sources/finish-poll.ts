import type { Sql } from "../db/client.ts";
import type { FunctionArgs } from "../db/rows.ts";
import { redactText } from "../egress/redact.ts";

export type PollOutcome = "ok" | "partial" | "error";

/**
 * Records how a poll of a source went: last poll and success times, last_error (cleared by a clean
 * poll), the next poll (at once when `more` is waiting), and the poll and error counters.
 */
export async function finishPoll(sql: Sql, sourceId: number, result: { outcome: PollOutcome; error?: string | null; more?: boolean }): Promise<void> {
  const args: FunctionArgs<"finish_poll"> = {
    p_source_id: sourceId,
    p_outcome: result.outcome,
    // last_error is read by health and quoted in alerts: no URL path or query may reach it.
    p_error: result.error ? redactText(result.error) : undefined,
    p_more: result.more ?? false,
  };
  await sql`select peakwatch.finish_poll(${args.p_source_id}::bigint, ${args.p_outcome}, ${args.p_error ?? null}::text, ${args.p_more ?? false})`;
}
