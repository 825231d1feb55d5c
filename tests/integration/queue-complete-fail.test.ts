import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readBacklog } from "../../supabase/functions/_shared/queue/backlog.ts";
import { claim } from "../../supabase/functions/_shared/queue/claim.ts";
import { complete } from "../../supabase/functions/_shared/queue/complete.ts";
import { enqueue, requeueDeadLetters } from "../../supabase/functions/_shared/queue/enqueue.ts";
import { fail } from "../../supabase/functions/_shared/queue/fail.ts";
import { Priority } from "../../supabase/functions/_shared/queue/priority.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
});

async function secondsUntilDue(tokenId: number): Promise<number> {
  const [row] = await db.sql<{ s: number }[]>`
    select extract(epoch from due_at - now())::float8 as s from peakwatch.queue where token_id = ${tokenId}`;
  return row!.s;
}

describe("complete", () => {
  it("reschedules each token by its cadence and resets attempts and errors", async () => {
    const [young, old, pending, dead] = await insertTokens(db.sql, 4);
    await db.sql`update peakwatch.tokens set status = 'active' where id in (${young!}, ${old!})`;
    await db.sql`update peakwatch.tokens set created_at = now() - interval '30 days' where id = ${old!}`;
    await db.sql`update peakwatch.tokens set status = 'dead' where id = ${dead!}`;
    await db.sql`update peakwatch.queue set attempts = 3, last_error = 'boom'`;
    const ids = [young!, old!, pending!, dead!];
    await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    expect(await complete(db.sql, "w", ids)).toBe(4);

    const expected: Array<[number, number, number]> = [
      [young!, 30, Priority.refresh],
      [old!, 900, Priority.refresh],
      [pending!, 120, Priority.slow],
      [dead!, 6 * 3600, Priority.slow],
    ];
    for (const [id, seconds, priority] of expected) {
      const due = await secondsUntilDue(id);
      expect(due).toBeGreaterThan(seconds * 0.85);
      expect(due).toBeLessThan(seconds * 1.15);
      const [row] = await db.sql<{ attempts: number; last_error: string | null; priority: number; claimed_by: string | null }[]>`
        select attempts, last_error, priority, claimed_by from peakwatch.queue where token_id = ${id}`;
      expect(row).toEqual({ attempts: 0, last_error: null, priority, claimed_by: null });
    }
  });

  it("an empty batch is a no-op and an oversized one is refused", async () => {
    expect(await complete(db.sql, "w", [])).toBe(0);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => i + 1);
    await expect(complete(db.sql, "w", tooMany)).rejects.toThrow(/at most 10000 token ids per call \(got 10001\)/);
  });
});

describe("fail", () => {
  it("backoff grows exponentially with jitter and stops growing at the cap", async () => {
    const [id] = await insertTokens(db.sql, 1);
    const policy = { maxAttempts: 20, baseSeconds: 10, capSeconds: 300 };
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await db.sql`update peakwatch.queue set due_at = now() where token_id = ${id!}`;
      await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
      const [failed] = await fail(db.sql, "w", [{ tokenId: id!, error: `timeout #${attempt}` }], policy);
      expect(failed).toMatchObject({ token_id: id, attempts: attempt, dead_lettered: false });
      const ceiling = Math.min(300, 10 * 2 ** (attempt - 1));
      const delay = await secondsUntilDue(id!);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2 - 1);
      expect(delay).toBeLessThanOrEqual(ceiling + 1);
      delays.push(delay);
    }
    // equal jitter keeps successive ranges apart until the cap: every step before it is longer
    for (let i = 1; i < 5; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    for (const capped of delays.slice(5)) expect(capped).toBeLessThanOrEqual(301);
    const [row] = await db.sql<{ last_error: string }[]>`select last_error from peakwatch.queue where token_id = ${id!}`;
    expect(row!.last_error).toBe("timeout #8");
  });

  it("a row is dead-lettered with its last error after max attempts, counted, and can be requeued", async () => {
    const [id, healthy] = await insertTokens(db.sql, 2);
    const policy = { maxAttempts: 3, baseSeconds: 1, capSeconds: 5 };
    await db.sql`update peakwatch.queue set due_at = now() + interval '1 hour' where token_id = ${healthy!}`;
    let last;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await db.sql`update peakwatch.queue set due_at = now() where token_id = ${id!}`;
      await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
      [last] = await fail(db.sql, "w", [{ tokenId: id!, error: "HTTP 500 from dexscreener" }], policy);
    }
    expect(last).toMatchObject({ attempts: 3, dead_lettered: true });
    await db.sql`update peakwatch.queue set due_at = now() - interval '1 minute'`;
    const claimed = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    expect(claimed.map((row) => row.token_id)).toEqual([healthy]);
    expect((await readBacklog(db.sql)).dead_lettered_count).toBe(1);
    const [kept] = await db.sql<{ last_error: string }[]>`select last_error from peakwatch.queue where token_id = ${id!}`;
    expect(kept!.last_error).toBe("HTTP 500 from dexscreener");

    expect(await requeueDeadLetters(db.sql, 0)).toBe(1);
    const retried = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    expect(retried.map((row) => row.token_id)).toEqual([id]);
    expect(retried[0]!.attempts).toBe(0);
  });

  it("a failure reported by a worker that lost its lease is ignored", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await claim(db.sql, { worker: "new-holder", limit: 1, leaseSeconds: 60 });
    expect(await fail(db.sql, "stale", [{ tokenId: id!, error: "late" }])).toEqual([]);
    const [row] = await db.sql<{ attempts: number; claimed_by: string }[]>`
      select attempts, claimed_by from peakwatch.queue where token_id = ${id!}`;
    expect(row).toEqual({ attempts: 0, claimed_by: "new-holder" });
  });

  it("mismatched ids and errors are refused", async () => {
    await expect(
      db.sql`select * from peakwatch.fail('w', array[1, 2]::bigint[], array['only one']::text[])`,
    ).rejects.toThrow(/errors must have one entry per token id \(2 ids, 1 errors\)/);
  });
});

describe("enqueue", () => {
  it("pulls a scheduled token forward but leaves a live lease alone", async () => {
    const [scheduled, leased] = await insertTokens(db.sql, 2);
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '10 minutes' where token_id = ${scheduled!}`;
    await db.sql`update peakwatch.queue set priority = 1 where token_id = ${leased!}`;
    await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 120 });
    expect(await enqueue(db.sql, [scheduled!, leased!], { priority: Priority.firstCheck })).toBe(2);
    expect(await secondsUntilDue(scheduled!)).toBeLessThanOrEqual(0);
    expect(await secondsUntilDue(leased!)).toBeGreaterThan(60);
  });
});
