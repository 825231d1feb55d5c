import { createSql, type Sql } from "../../supabase/functions/_shared/db/client.ts";
import { readBacklog } from "../../supabase/functions/_shared/queue/backlog.ts";
import type { Backlog } from "../../supabase/functions/_shared/db/rows.ts";

/** Inserting tokens is how anything queues them: the statement trigger adds queue rows (priority 0, due now). */
async function insertTokens(sql: Sql, from: number, to: number): Promise<void> {
  await sql`
    insert into peakwatch.tokens (chain, address)
    select 'solana', 'bench-' || g from generate_series(${from}::int, ${to}::int) g`;
}

export interface BacklogConfig {
  total: number;
  due: number;
  /** Of the due rows, how many are never-checked (priority 0); the rest are refreshes (priority 1). */
  dueNew: number;
  calls: number;
  chunk: number;
}

export interface BacklogResult {
  total: number;
  due: number;
  calls: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  backlog: Backlog;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * Fills the queue to `total` rows, `due` of them overdue by up to an hour and the rest due within a
 * day, then times `backlog()` round trips from a fresh single-connection pool.
 */
export async function benchBacklog(url: string, config: BacklogConfig): Promise<BacklogResult> {
  const admin = createSql(url, { max: 1, applicationName: "peakwatch-bench" });
  try {
    await admin`truncate peakwatch.tokens cascade`;
    for (let from = 1; from <= config.total; from += config.chunk) {
      await insertTokens(admin, from, Math.min(config.total, from + config.chunk - 1));
    }
    // The first `due` rows by id become overdue by up to an hour, the rest due within a day.
    await admin`
      with ranked as (select token_id, row_number() over (order by token_id) as n from peakwatch.queue)
      update peakwatch.queue q
      set priority = case when r.n <= ${config.dueNew}::int then 0 else 1 end,
          due_at = case when r.n <= ${config.due}::int then now() - random() * interval '1 hour'
                        else now() + interval '1 minute' + random() * interval '1 day' end
      from ranked r
      where q.token_id = r.token_id`;
    await admin.unsafe("vacuum analyze peakwatch.tokens, peakwatch.queue");
  } finally {
    await admin.end({ timeout: 1 });
  }

  const sql = createSql(url, { max: 1, applicationName: "peakwatch-bench-backlog" });
  try {
    const timings: number[] = [];
    let last: Backlog | undefined;
    for (let i = 0; i < config.calls; i++) {
      const started = performance.now();
      last = await readBacklog(sql);
      timings.push(performance.now() - started);
    }
    if (last!.due_count !== config.due) throw new Error(`backlog: due_count ${last!.due_count}, expected ${config.due}`);
    const sorted = [...timings].sort((a, b) => a - b);
    return {
      total: config.total,
      due: config.due,
      calls: config.calls,
      p50Ms: percentile(sorted, 0.5),
      p95Ms: percentile(sorted, 0.95),
      maxMs: sorted[sorted.length - 1]!,
      backlog: last!,
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}
