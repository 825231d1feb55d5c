import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finishRun, recordRun, startRun } from "../../supabase/functions/_shared/runs/record.ts";
import type { RunRow } from "../../supabase/functions/_shared/db/rows.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const readRun = async (id: number) => (await db.sql<RunRow[]>`select * from peakwatch.runs where id = ${id}`)[0]!;

describe("runs", () => {
  it("a successful invocation is recorded with its outcome and counts", async () => {
    const result = await recordRun(db.sql, "tracker", "cron", async () => ({ counts: { claimed: 30, priced: 28 }, outcome: "partial" as const }));
    const run = await readRun(result.runId);
    expect(run).toMatchObject({ function_name: "tracker", trigger: "cron", outcome: "partial", counts: { claimed: 30, priced: 28 }, error: null });
    expect(run.finished_at).not.toBeNull();
  });

  it("a crash is recorded as an error with its message and still thrown to the caller", async () => {
    let runId = 0;
    await expect(
      recordRun(db.sql, "poller", "http", async (id) => {
        runId = id;
        throw new Error("column \"market_cap\" does not exist");
      }),
    ).rejects.toThrow(/market_cap/);
    expect(await readRun(runId)).toMatchObject({ outcome: "error", error: 'column "market_cap" does not exist' });
  });

  it("a run cannot be finished twice or with an unknown outcome", async () => {
    const id = await startRun(db.sql, "health");
    expect((await readRun(id)).outcome).toBe("running");
    await expect(db.sql`select peakwatch.run_finish(${id}, 'done')`).rejects.toThrow(/outcome must be ok, partial or error/);
    await finishRun(db.sql, id, "ok", {});
    await expect(finishRun(db.sql, id, "ok", {})).rejects.toThrow(/already finished/);
  });
});
