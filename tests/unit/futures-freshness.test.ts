import { describe, expect, it } from "vitest";
import { calendarFor } from "../../supabase/functions/_shared/candles/calendars.ts";
import type { MarketHoliday } from "../../supabase/functions/_shared/candles/cme-calendar.ts";
import type { Timeframe } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { lateBars } from "../../supabase/functions/_shared/health/checks/candles.ts";

const holidays: MarketHoliday[] = [
  { day: "2026-12-24", kind: "early_close", closeTime: "12:15" },
  { day: "2026-12-25", kind: "closed", closeTime: null },
];
const withHolidays = (name: string) => calendarFor(name, { holidays });
const GRACE_MS = 60_000;
const late = (timeframe: Timeframe, lastClosedBucket: string, now: string, lookup = withHolidays) =>
  lateBars({ calendar: "cme_globex", timeframe, lastClosedBucket: new Date(lastClosedBucket), firstBucket: new Date("2026-12-01T00:00:00Z") }, new Date(now), GRACE_MS, lookup);

describe("futures freshness on the CME Globex calendar (candles:lastBarAge: warn at 1 late bar, fail at 2)", () => {
  it("a weekend is never late: Friday's last bar stays the newest until Sunday's first bar has closed", () => {
    for (const now of ["2026-12-11T22:30:00Z", "2026-12-12T12:00:00Z", "2026-12-13T22:59:00Z", "2026-12-13T23:05:59Z"]) {
      expect(late("5m", "2026-12-11T21:55:00Z", now), now).toBe(0);
    }
    expect(late("1h", "2026-12-11T21:00:00Z", "2026-12-13T23:59:00Z")).toBe(0);
  });

  it("the daily halt is never late", () => {
    for (const now of ["2026-12-07T22:00:00Z", "2026-12-07T22:45:00Z", "2026-12-07T23:05:30Z"]) expect(late("5m", "2026-12-07T21:55:00Z", now), now).toBe(0);
    expect(late("15m", "2026-12-07T21:45:00Z", "2026-12-07T23:00:00Z")).toBe(0);
  });

  it("a holiday from the table is not late; without its rows the same stream would look two days behind", () => {
    expect(late("30m", "2026-12-24T18:00:00Z", "2026-12-26T15:00:00Z")).toBe(0);
    expect(late("30m", "2026-12-24T18:00:00Z", "2026-12-26T15:00:00Z", (name) => calendarFor(name))).toBeGreaterThan(2);
  });

  it("a stream stopped mid-session is failing (2 late bars) within 2 bars + 1 minute of its last on-time run", () => {
    // Last bar stored: Monday 15:00 UTC (5m); an on-time collector has it from 15:05 on.
    const stoppedAt = Date.parse("2026-12-07T15:05:00Z");
    const redAt = new Date(stoppedAt + 2 * 300_000 + GRACE_MS).toISOString();
    expect(late("5m", "2026-12-07T15:00:00Z", "2026-12-07T15:10:00Z")).toBe(0);
    expect(late("5m", "2026-12-07T15:00:00Z", "2026-12-07T15:11:00Z")).toBe(1);
    expect(late("5m", "2026-12-07T15:00:00Z", redAt)).toBe(2);
  });
});
