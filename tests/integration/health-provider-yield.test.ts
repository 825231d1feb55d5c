import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { checkOf, insertRuns, resetPipeline, testHealthConfig } from "../helpers/health.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await resetPipeline(db.sql);
});

const evaluate = () => evaluateHealth({ sql: db.sql, config: testHealthConfig({}) });

describe("providers:yield", () => {
  it("a provider pricing what it priced before passes; a collapse in the last 2 minutes fails and names the provider", async () => {
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 90, counts: { dexscreenerAskedKnown: 300, dexscreenerPricedKnown: 297, geckoterminalAskedKnown: 4, geckoterminalPricedKnown: 4 } }]);
    let report = await evaluate();
    expect(checkOf(report, "providers:yield", "dexscreener")).toMatchObject({ status: "pass", observedValue: 99 });
    expect(checkOf(report, "providers:yield", "geckoterminal")).toMatchObject({ status: "pass", observedValue: 100 });

    // priceUsd renamed upstream: every pair parses, none prices
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 20, counts: { dexscreenerAskedKnown: 600, dexscreenerPricedKnown: 0 } }]);
    report = await evaluate();
    const collapsed = checkOf(report, "providers:yield", "dexscreener");
    expect(collapsed.status).toBe("fail");
    expect(collapsed.observedValue).toBeCloseTo(33, 0);
    expect(collapsed.output).toMatch(/^dexscreener priced 297 of 900/);
    expect(report.status).toBe("fail");
  });

  it("runs older than the window and too few known addresses are not graded", async () => {
    await insertRuns(db.sql, [
      { outcome: "ok", secondsAgo: 600, counts: { dexscreenerAskedKnown: 500, dexscreenerPricedKnown: 0 } },
      { outcome: "ok", secondsAgo: 10, counts: { dexscreenerAskedKnown: 5, dexscreenerPricedKnown: 0 } },
    ]);
    expect(checkOf(await evaluate(), "providers:yield", "dexscreener")).toMatchObject({ status: "pass", observedValue: 0 });
  });
});
