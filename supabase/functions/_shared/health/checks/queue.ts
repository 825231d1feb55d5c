import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";

const queueRow = z.object({
  due_count: z.number(),
  due_new_count: z.number(),
  oldest_due_at: z.string().nullable(),
  overdue_max_seconds: z.number(),
  overdue_p50_seconds: z.number(),
  overdue_p95_seconds: z.number(),
  dead_lettered_count: z.number(),
  figures_exact: z.boolean(),
  unprocessed_count: z.number(),
  unprocessed_exact: z.boolean(),
  oldest_unprocessed_age_seconds: z.number(),
});

/** Due backlog, never-checked tokens and the oldest of them, overdue percentiles, dead letters: one round trip. */
export async function queueChecks(ctx: CheckContext): Promise<AreaResult> {
  const [row] = await ctx.sql`select * from peakwatch.health_queue()`;
  const q = queueRow.parse(row);
  // Past 5,000 the never-checked count is backlog()'s sampled figure for the due ones.
  const unprocessed = q.unprocessed_exact ? q.unprocessed_count : Math.max(q.unprocessed_count, q.due_new_count);
  const figures = `${q.due_count} due${q.figures_exact ? "" : " (estimated from the sample index)"}, ` +
    `${q.due_new_count} of them never checked; oldest due since ${isoTime(q.oldest_due_at) ?? "-"}`;
  return {
    checks: [
      reading(ctx, "queue:dueBacklog", q.due_count, figures),
      reading(ctx, "queue:unprocessed", unprocessed, `${unprocessed}${q.unprocessed_exact ? "" : " (estimated)"} tokens queued and never checked`),
      reading(
        ctx,
        "queue:unprocessedOldestAge",
        Math.max(0, q.oldest_unprocessed_age_seconds),
        q.unprocessed_count > 0 ? `oldest never-checked token queued ${Math.round(q.oldest_unprocessed_age_seconds)} s ago` : "no never-checked tokens",
      ),
      reading(ctx, "queue:overdueP50", q.overdue_p50_seconds, figures),
      reading(ctx, "queue:overdueP95", q.overdue_p95_seconds, figures),
      reading(ctx, "queue:overdueMax", q.overdue_max_seconds, figures),
      reading(ctx, "queue:deadLettered", q.dead_lettered_count, `${q.dead_lettered_count} tokens dead-lettered after repeated failures`),
    ],
    summary: { unprocessedTokens: unprocessed, averageLag: q.overdue_p50_seconds },
  };
}
