import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claim } from "../../supabase/functions/_shared/queue/claim.ts";
import { complete } from "../../supabase/functions/_shared/queue/complete.ts";
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("claim", () => {
  it("four concurrent claimers never receive the same row and together drain every row", async () => {
    const ids = await insertTokens(db.sql, 3000);
    const workers = Array.from({ length: 4 }, (_, i) => ({ name: `worker-${i}`, sql: db.connect(1) }));
    const claimedBy = await Promise.all(
      workers.map(async ({ name, sql }) => {
        const mine: number[] = [];
        for (;;) {
          const batch = await claim(sql, { worker: name, limit: 37, leaseSeconds: 300 });
          if (batch.length === 0) return mine;
          mine.push(...batch.map((row) => row.token_id));
        }
      }),
    );
    const all = claimedBy.flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(claimedBy.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
  });

  it("a claimed row whose lease expires is claimed again and nothing is lost", async () => {
    const ids = await insertTokens(db.sql, 20);
    const first = await claim(db.sql, { worker: "crashes", limit: 20, leaseSeconds: 1 });
    expect(first).toHaveLength(20);
    expect(await claim(db.sql, { worker: "other", limit: 20, leaseSeconds: 60 })).toHaveLength(0);
    await sleep(1_200);
    const second = await claim(db.sql, { worker: "other", limit: 20, leaseSeconds: 60 });
    expect(second.map((row) => row.token_id).sort((a, b) => a - b)).toEqual(ids);
    // the crashed worker coming back late cannot complete rows it no longer holds
    expect(await complete(db.sql, "crashes", ids)).toBe(0);
    expect(await complete(db.sql, "other", ids)).toBe(20);
  });

  it("never-checked tokens come first, then the most overdue refreshes, then slow re-checks", async () => {
    const [slow, oldRefresh, newRefresh, fresh] = await insertTokens(db.sql, 4);
    await db.sql`update peakwatch.queue set priority = 2, due_at = now() - interval '3 hours' where token_id = ${slow!}`;
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() - interval '2 hours' where token_id = ${oldRefresh!}`;
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() - interval '1 minute' where token_id = ${newRefresh!}`;
    await db.sql`update peakwatch.queue set due_at = now() where token_id = ${fresh!}`;
    const order: number[] = [];
    for (;;) {
      const [row] = await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
      if (!row) break;
      order.push(row.token_id);
    }
    expect(order).toEqual([fresh, oldRefresh, newRefresh, slow]);
  });

  it("never-checked tokens go newest first, so a fresh call is not stuck behind a backlog", async () => {
    const ids = await insertTokens(db.sql, 5);
    await db.sql`update peakwatch.queue q set due_at = now() - make_interval(secs => 100 - x.n)
      from (select token_id, row_number() over (order by token_id) as n from peakwatch.queue) x where q.token_id = x.token_id`;
    // ids[4] was queued last (due 96 s ago), ids[0] first (due 100 s ago)
    const claimed = await claim(db.sql, { worker: "w", limit: 2, leaseSeconds: 60 });
    expect(claimed.map((row) => row.token_id).sort((a, b) => a - b)).toEqual([ids[3], ids[4]]);
  });

  it("with one chain per batch, a batch holds the first row's chain only, so provider requests go out full", async () => {
    await insertTokens(db.sql, 4, "solana");
    await insertTokens(db.sql, 4, "base", "0xbase");
    const first = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60, oneChain: true });
    const second = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60, oneChain: true });
    expect(first).toHaveLength(4);
    expect(new Set(first.map((row) => row.chain)).size).toBe(1);
    expect(second).toHaveLength(4);
    expect(second[0]!.chain).not.toBe(first[0]!.chain);
  });

  it("rows not yet due and dead-lettered rows are not claimed", async () => {
    const [later, dead, due] = await insertTokens(db.sql, 3);
    await db.sql`update peakwatch.queue set due_at = now() + interval '5 minutes' where token_id = ${later!}`;
    await db.sql`update peakwatch.queue set dead_lettered_at = now() where token_id = ${dead!}`;
    const claimed = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
    expect(claimed.map((row) => row.token_id)).toEqual([due]);
  });

  it("a chain filter claims only those chains and returns what a pricer needs", async () => {
    await insertTokens(db.sql, 3, "solana");
    await insertTokens(db.sql, 2, "base", "0xbase");
    const claimed = await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60, chains: ["base"] });
    expect(claimed).toHaveLength(2);
    for (const row of claimed) {
      expect(row).toMatchObject({ chain: "base", status: "pending", priority: 0, attempts: 0 });
      expect(row.address).toMatch(/^0xbase-/);
      expect(new Date(row.lease_until).getTime()).toBeGreaterThan(Date.now());
    }
  });

  it.each([
    [0, 60, /n must be between 1 and 10000 \(got 0\)/],
    [-5, 60, /n must be between 1 and 10000/],
    [10_001, 60, /n must be between 1 and 10000 \(got 10001\)/],
    [10, -1, /lease must be positive/],
    [10, 0, /lease must be positive/],
  ])("claim(n=%i, lease=%is) is refused with a clear error", async (limit, leaseSeconds, message) => {
    await insertTokens(db.sql, 1);
    await expect(claim(db.sql, { worker: "w", limit, leaseSeconds })).rejects.toThrow(message);
    const [row] = await db.sql<{ claimed: number }[]>`select count(claimed_by)::int as claimed from peakwatch.queue`;
    expect(row!.claimed).toBe(0);
  });
});
