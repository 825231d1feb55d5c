import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lateBars } from "../../supabase/functions/_shared/health/checks/candles.ts";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { alwaysOpen, type TradingCalendar } from "../../supabase/functions/_shared/candles/calendar.ts";
import { bucketStart } from "../../supabase/functions/_shared/candles/timeframes.ts";
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
  await db.sql`truncate peakwatch.instruments restart identity cascade`;
});

// Grace 0 and daily bars: which bars are due depends only on the day, so no test races a bucket edge.
const evaluate = (env: Record<string, string> = {}) => evaluateHealth({ sql: db.sql, config: testHealthConfig({ HEALTH_CANDLES_GRACE_SECONDS: "0", ...env }) });
const DAY = 86_400_000;
const today = () => bucketStart("1d", new Date()).getTime();

/** A daily stream whose newest stored bar is `barsAgo` days before today's (1 = yesterday's, so current). */
async function addStream(symbol: string, barsAgo: number | null, extra: { calendar?: string; backfillDays?: number; cursorDays?: number } = {}) {
  const [instrument] = await db.sql<{ id: number }[]>`
    insert into peakwatch.instruments (provider, network, symbol, calendar) values ('geckoterminal', 'solana', ${symbol}, ${extra.calendar ?? "always"}) returning id`;
  const last = barsAgo === null ? null : new Date(today() - barsAgo * DAY).toISOString();
  const [stream] = await db.sql<{ id: number }[]>`
    insert into peakwatch.candle_streams (instrument_id, timeframe, last_closed_bucket, created_at, backfill_target, backfill_cursor)
    values (${instrument!.id}, '1d', ${last}, now() - interval '30 days',
            ${extra.backfillDays === undefined ? null : new Date(today() - extra.backfillDays * DAY).toISOString()},
            ${extra.cursorDays === undefined ? null : new Date(today() - extra.cursorDays * DAY).toISOString()})
    returning id`;
  return stream!.id;
}

describe("candles:lastBarAge", () => {
  it("passes while every stream holds its last closed bar, warns at one missing bar and fails at two, naming the worst stream", async () => {
    await addStream("pool-ok", 1);
    expect(checkOf(await evaluate(), "candles:lastBarAge")).toMatchObject({ observedValue: 0, observedUnit: "bars", status: "pass" });
    const oneLate = await addStream("pool-late", 2);
    let check = checkOf(await evaluate(), "candles:lastBarAge");
    expect(check).toMatchObject({ observedValue: 1, status: "warn" });
    expect(check.output).toContain(`solana:pool-late 1d (stream ${oneLate})`);
    await db.sql`update peakwatch.candle_streams set last_error = 'upstream answered 503' where id = ${oneLate}`;
    const twoLate = await addStream("pool-stopped", 3);
    check = checkOf(await evaluate(), "candles:lastBarAge");
    expect(check).toMatchObject({ observedValue: 2, status: "fail" });
    expect(check.output).toContain(`pool-stopped 1d (stream ${twoLate}) 2 closed bars late`);
    expect(check.output).toContain("2 of 3 streams behind");
    expect(checkOf(await evaluate(), "candles:streamsBehind")).toMatchObject({ observedValue: 2, status: "pass" });
  });

  it("a stream that never stored a bar is late from its creation; a long outage reads as at least 1000 bars", async () => {
    await addStream("pool-new", null);
    let check = checkOf(await evaluate(), "candles:lastBarAge");
    // created 30 days ago: every closed daily bucket since the one holding its creation
    expect(check).toMatchObject({ status: "fail" });
    expect(check.observedValue).toBeGreaterThanOrEqual(29);
    expect(check.output).toContain("no bar stored yet");
    await addStream("pool-ancient", 5000);
    check = checkOf(await evaluate(), "candles:lastBarAge");
    expect(check).toMatchObject({ observedValue: 1000, status: "fail" });
    expect(check.output).toContain("pool-ancient 1d");
    expect(check.output).toContain("≥ 1000 closed bars late");
  });

  it("a disabled stream, or one whose pool is not on the provider, is not late", async () => {
    const stopped = await addStream("pool-off", 5);
    await db.sql`update peakwatch.candle_streams set enabled = false where id = ${stopped}`;
    const missing = await addStream("pool-missing", null);
    await db.sql`update peakwatch.candle_streams set coverage_reason = 'not_on_provider' where id = ${missing}`;
    await addStream("pool-ok", 1);
    expect(checkOf(await evaluate(), "candles:lastBarAge")).toMatchObject({ observedValue: 0, status: "pass" });
  });

  it("a stream naming a calendar the code does not know fails, saying so", async () => {
    await addStream("pool-cal", 1, { calendar: "no_such_market" });
    await db.sql`update peakwatch.candle_streams set last_closed_bucket = last_closed_bucket - interval '1 day'`;
    const check = checkOf(await evaluate(), "candles:lastBarAge");
    expect(check.status).toBe("fail");
    expect(check.output).toContain('unknown calendar "no_such_market"');
  });

  it("lateness follows the calendar: buckets a closed market does not expect are not late", () => {
    const now = new Date("2026-12-07T00:30:00Z"); // a Monday
    const stream = { calendar: "always", timeframe: "1d" as const, lastClosedBucket: new Date("2026-12-04T00:00:00Z"), firstBucket: new Date(0) };
    expect(lateBars(stream, now, 0)).toBe(2); // Saturday and Sunday on a 24/7 calendar
    const weekdays: TradingCalendar = {
      name: "weekdays",
      isOpen: (at) => at.getUTCDay() % 6 !== 0,
      expectedBuckets: (timeframe, from, to) => alwaysOpen.expectedBuckets(timeframe, from, to).filter((b) => b.getUTCDay() % 6 !== 0),
      lastClosedBucket: () => null,
    };
    expect(lateBars({ ...stream, calendar: "weekdays" }, now, 0, () => weekdays)).toBe(0); // Friday's bar is the last one due
    expect(lateBars({ ...stream, calendar: "weekdays", lastClosedBucket: new Date("2026-12-03T00:00:00Z") }, now, 0, () => weekdays)).toBe(1);
    expect(lateBars({ ...stream, calendar: "nope" }, now, 0)).toBeNull();
    expect(lateBars({ ...stream, lastClosedBucket: new Date("2026-12-06T00:00:00Z") }, now, 0)).toBe(0);
    expect(lateBars({ ...stream, lastClosedBucket: new Date("2020-01-01T00:00:00Z") }, now, 0)).toBe(1000);
  });
});

describe("candles: informational figures", () => {
  it("coverage, rows per hour and backfill progress are reported and never change the status", async () => {
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 15 }]);
    const id = await addStream("pool-a", 1, { backfillDays: 10, cursorDays: 5 });
    await addStream("pool-b", 1, { backfillDays: 10 });
    await db.sql`update peakwatch.candle_streams set written_hour = date_trunc('hour', now()) - interval '1 hour', written_in_hour = 40 where id = ${id}`;
    await db.sql`insert into peakwatch.candle_gaps (stream_id, gap_from, gap_to) values (${id}, now() - interval '3 days', now() - interval '2 days')`;
    const report = await evaluate();
    expect(checkOf(report, "candles:rowsPerHour")).toMatchObject({ observedValue: 40, status: "pass" });
    const backfill = checkOf(report, "candles:backfillPercent");
    // pool-a reached 5 of 10 days; pool-b has not started
    expect(backfill.observedValue).toBeCloseTo(25, 0);
    expect(backfill.output).toContain("0 of 2 streams with a backfill target are done");
    const coverage = checkOf(report, "candles:coveragePercent");
    // pool-a holds 5 of the 10 days wanted, less a 1-day open gap; pool-b 30 of 30, fetched since its creation
    expect(coverage.observedValue).toBeCloseTo((100 * (5 - 1 + 30)) / 40, 0);
    expect(coverage.output).toContain("1 open gaps");
    expect(report.checks.filter((c) => c.name.startsWith("candles:")).every((c) => c.status === "pass")).toBe(true);
    expect(report.status).toBe("pass");
  });

  it("with no candle stream there is nothing to grade, and a note says so", async () => {
    const report = await evaluate();
    expect(report.checks.filter((c) => c.name.startsWith("candles:"))).toEqual([]);
    expect(report.notes).toContain("no candle stream is enabled: candle checks have nothing to read");
  });
});
