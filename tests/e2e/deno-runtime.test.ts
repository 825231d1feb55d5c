import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { deno } from "../helpers/deno.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function sharedModules(): string[] {
  const root = path.join(repoRoot, "supabase/functions");
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.join("supabase/functions", file))
    .concat("dev/functions-server.ts", "dev/function-host.ts");
}

describe("the same code under Deno", () => {
  it("every module in supabase/functions and the local functions server type-checks with deno check", () => {
    const result = deno(["check", ...sharedModules()]);
    expect(result.stderr).not.toMatch(/TS\d{4}/);
    expect(result.status, result.stderr).toBe(0);
  }, 240_000);

  it("_shared queue and runs modules work against the real database under the deno binary", async () => {
    const result = deno(["run", "--allow-env", "--allow-net", "--allow-read", "tests/e2e/deno/queue-roundtrip.ts"], {
      SUPABASE_DB_URL: db.url,
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout.trim());
    expect(report).toMatchObject({
      runtime: "deno",
      counts: { claimed: 2, completed: 2 },
      dueBefore: 2,
      dueAfter: 0,
      idType: "number",
    });
    const [run] = await db.sql<{ outcome: string; counts: Record<string, number> }[]>`
      select outcome, counts from peakwatch.runs where id = ${report.runId}`;
    expect(run).toEqual({ outcome: "ok", counts: { claimed: 2, completed: 2 } });
  });
});
