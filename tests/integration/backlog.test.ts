import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBacklog } from "../../supabase/functions/_shared/queue/backlog.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe("backlog", () => {
  it("is all zeros on an empty queue", async () => {
    expect(await readBacklog(db.sql)).toMatchObject({
      due_count: 0,
      due_new_count: 0,
      oldest_due_at: null,
      overdue_max_seconds: 0,
      overdue_p50_seconds: 0,
      overdue_p95_seconds: 0,
      dead_lettered_count: 0,
      figures_exact: true,
    });
  });

  it("reports due count, oldest age and overdue percentiles of due rows only", async () => {
    const ids = await insertTokens(db.sql, 130);
    // 100 due rows overdue by 1..100 s; 20 scheduled later; 10 dead-lettered
    await db.sql`
      update peakwatch.queue q set due_at = now() - make_interval(secs => x.n), priority = case when x.n <= 10 then 0 else 1 end
      from (select token_id, row_number() over (order by token_id) as n from peakwatch.queue) x
      where q.token_id = x.token_id and x.n <= 100`;
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '1 hour' where token_id = any(${ids.slice(100, 120)}::bigint[])`;
    await db.sql`update peakwatch.queue set dead_lettered_at = now() where token_id = any(${ids.slice(120)}::bigint[])`;
    const backlog = await readBacklog(db.sql);
    expect(backlog).toMatchObject({ due_count: 100, due_new_count: 10, dead_lettered_count: 10 });
    expect(backlog.overdue_max_seconds).toBeCloseTo(100, 0);
    expect(backlog.overdue_p95_seconds).toBeCloseTo(95, 0);
    expect(backlog.overdue_p50_seconds).toBeCloseTo(50, 0);
  });

  it("beyond 20,000 due rows it estimates counts and percentiles from the sample index and says so", async () => {
    await db.sql`truncate peakwatch.tokens cascade`;
    await insertTokens(db.sql, 32_000);
    // overdue by 1..32,000 seconds, spread evenly over token ids
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() - make_interval(secs => token_id % 32000 + 1)`;
    const backlog = await readBacklog(db.sql);
    expect(backlog.figures_exact).toBe(false);
    expect(backlog.due_count).toBeGreaterThan(32_000 * 0.9);
    expect(backlog.due_count).toBeLessThan(32_000 * 1.1);
    expect(backlog.overdue_max_seconds).toBeCloseTo(32_000, -1);
    expect(backlog.overdue_p50_seconds).toBeGreaterThan(16_000 * 0.9);
    expect(backlog.overdue_p50_seconds).toBeLessThan(16_000 * 1.1);
  });

  it("reads index ranges, never a sequential scan of the queue", async () => {
    await db.sql`truncate peakwatch.tokens cascade`;
    const ids = await insertTokens(db.sql, 50_000);
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '1 hour'`;
    await db.sql`update peakwatch.queue set due_at = now() - interval '5 minutes' where token_id = any(${ids.slice(0, 500)}::bigint[])`;
    await db.sql`analyze peakwatch.queue`;
    const reader = db.connect(1);
    const seqScans = async () => {
      const [row] = await reader<{ n: number }[]>`
        select pg_stat_force_next_flush(), pg_stat_clear_snapshot(),
               (select seq_scan from pg_stat_user_tables where relid = 'peakwatch.queue'::regclass)::int as n`;
      return row!.n;
    };
    const before = await seqScans();
    expect((await readBacklog(reader)).due_count).toBe(500);
    expect(await seqScans()).toBe(before);
  });
});
