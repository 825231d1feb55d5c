import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { calendarFor } from "../../supabase/functions/_shared/candles/calendars.ts";
import { cmeGlobexCalendar, type MarketHoliday } from "../../supabase/functions/_shared/candles/cme-calendar.ts";
import { type Timeframe, timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { fuzzed } from "../helpers/fuzz.ts";

const holidays: MarketHoliday[] = [
  { day: "2026-11-26", kind: "early_close", closeTime: "12:00" },
  { day: "2026-11-27", kind: "early_close", closeTime: "12:15" },
  { day: "2026-12-24", kind: "early_close", closeTime: "12:15" },
  { day: "2026-12-25", kind: "closed", closeTime: null },
];
const cme = cmeGlobexCalendar(holidays);
const at = (iso: string) => new Date(iso);
const FUTURES: Timeframe[] = ["1m", "5m", "15m", "30m", "1h"];

/** Chicago wall clock of an instant: weekday (0 = Sunday) and minutes since midnight, by Intl, independently of the calendar. */
function chicago(date: Date): { weekday: number; minute: number; day: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: "America/Chicago", hourCycle: "h23", weekday: "short", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  return {
    weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(parts.weekday!),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    day: `${parts.year}-${parts.month}-${parts.day}`,
  };
}

/** The rule as the issue states it, for a day without a holiday row: closed Friday 16:00 → Sunday 17:00 and daily 16:00–17:00. */
function plainRuleOpen(date: Date): boolean {
  const { weekday, minute } = chicago(date);
  if (weekday === 6) return false;
  if (weekday === 0) return minute >= 17 * 60;
  if (weekday === 5) return minute < 16 * 60;
  return minute < 16 * 60 || minute >= 17 * 60;
}

describe("CME Globex calendar", () => {
  it("opens Sunday 17:00 Chicago, halts 16:00–17:00 daily and closes Friday 16:00, in both CST and CDT", () => {
    // CST (UTC-6): Sunday 2026-12-06 17:00 CT = 23:00 UTC.
    expect(cme.isOpen(at("2026-12-06T22:59:59Z"))).toBe(false);
    expect(cme.isOpen(at("2026-12-06T23:00:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-12-07T21:59:00Z"))).toBe(true); // Monday 15:59 CT
    expect(cme.isOpen(at("2026-12-07T22:00:00Z"))).toBe(false); // halt
    expect(cme.isOpen(at("2026-12-07T23:00:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-12-11T22:00:00Z"))).toBe(false); // Friday 16:00 CT
    expect(cme.isOpen(at("2026-12-12T12:00:00Z"))).toBe(false); // Saturday
    // CDT (UTC-5): Sunday 2026-06-07 17:00 CT = 22:00 UTC; Monday's halt starts 21:00 UTC.
    expect(cme.isOpen(at("2026-06-07T21:59:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-06-07T22:00:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-06-08T21:00:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-06-08T22:00:00Z"))).toBe(true);
  });

  it("follows the DST changes: the Sunday open moves by an hour in UTC on the changeover weekends", () => {
    // 2026-03-08: clocks spring forward at 02:00 CT, so that Sunday opens at 22:00 UTC (17:00 CDT).
    expect(cme.isOpen(at("2026-03-06T21:59:00Z"))).toBe(true); // Friday 15:59 CST
    expect(cme.isOpen(at("2026-03-06T22:00:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-03-08T21:59:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-03-08T22:00:00Z"))).toBe(true);
    // 2026-11-01: clocks fall back, the Friday before closes 21:00 UTC and the Sunday opens 23:00 UTC.
    expect(cme.isOpen(at("2026-10-30T20:59:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-10-30T21:00:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-11-01T22:59:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-11-01T23:00:00Z"))).toBe(true);
    // A week of 1h buckets across each change: 5 sessions of 23 hours each.
    expect(cme.expectedBuckets("1h", at("2026-03-08T00:00:00Z"), at("2026-03-14T00:00:00Z"))).toHaveLength(5 * 23);
    expect(cme.expectedBuckets("1h", at("2026-11-01T00:00:00Z"), at("2026-11-07T00:00:00Z"))).toHaveLength(5 * 23);
  });

  it("holiday rows: Christmas 2026 stops at 12:15 on the 24th and resumes Sunday the 27th at 17:00", () => {
    expect(cme.isOpen(at("2026-12-24T18:14:00Z"))).toBe(true); // 12:14 CT
    expect(cme.isOpen(at("2026-12-24T18:15:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-12-24T23:30:00Z"))).toBe(false); // would be the 25th's session
    expect(cme.isOpen(at("2026-12-25T15:00:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-12-27T23:00:00Z"))).toBe(true);
    // Thanksgiving: early close at noon, reopens at 17:00 for the Friday, which closes at 12:15.
    expect(cme.isOpen(at("2026-11-26T18:00:00Z"))).toBe(false);
    expect(cme.isOpen(at("2026-11-26T23:00:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-11-27T18:14:00Z"))).toBe(true);
    expect(cme.isOpen(at("2026-11-27T18:15:00Z"))).toBe(false);
    // The 30-minute bucket 12:00–12:30 holds the last quarter hour, so it is expected; 12:30 is not.
    const buckets = cme.expectedBuckets("30m", at("2026-12-24T17:00:00Z"), at("2026-12-25T00:00:00Z")).map((b) => b.toISOString());
    expect(buckets).toEqual(["2026-12-24T17:00:00.000Z", "2026-12-24T17:30:00.000Z", "2026-12-24T18:00:00.000Z"]);
  });

  it("lastClosedBucket: the newest ended bucket of the newest session, looking past weekends and holidays", () => {
    expect(cme.lastClosedBucket("5m", at("2026-12-07T15:07:00Z"))?.toISOString()).toBe("2026-12-07T15:00:00.000Z");
    // During the halt and over the weekend: the session's last bucket.
    expect(cme.lastClosedBucket("15m", at("2026-12-07T22:30:00Z"))?.toISOString()).toBe("2026-12-07T21:45:00.000Z");
    expect(cme.lastClosedBucket("1h", at("2026-12-13T12:00:00Z"))?.toISOString()).toBe("2026-12-11T21:00:00.000Z");
    // Sunday 17:03 CT: nothing of the new session has closed yet, Friday's last bar is the newest.
    expect(cme.lastClosedBucket("5m", at("2026-12-13T23:03:00Z"))?.toISOString()).toBe("2026-12-11T21:55:00.000Z");
    expect(cme.lastClosedBucket("5m", at("2026-12-13T23:05:00Z"))?.toISOString()).toBe("2026-12-13T23:00:00.000Z");
    // Over Christmas: the 24th's last (partial) bucket.
    expect(cme.lastClosedBucket("30m", at("2026-12-26T12:00:00Z"))?.toISOString()).toBe("2026-12-24T18:00:00.000Z");
  });

  it("property: outside holidays, isOpen is exactly the weekly rule, checked against Intl on its own", () => {
    const plain = cmeGlobexCalendar([]);
    fc.assert(
      fc.property(fc.integer({ min: Date.parse("2025-01-01T00:00:00Z"), max: Date.parse("2028-12-31T00:00:00Z") }), (ms) => {
        const date = new Date(Math.floor(ms / 60_000) * 60_000);
        expect(plain.isOpen(date)).toBe(plainRuleOpen(date));
      }),
      fuzzed(1801),
    );
  });

  it("property: no expected bucket lies wholly in a closed period, and every open minute is in an expected bucket", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-12-20T00:00:00Z") }),
        fc.constantFrom(...FUTURES),
        fc.integer({ min: 1, max: 30 }),
        (ms, timeframe, hours) => {
          const from = new Date(ms);
          const to = new Date(ms + hours * 3_600_000);
          const size = timeframeMs(timeframe);
          const buckets = cme.expectedBuckets(timeframe, from, to);
          const expected = new Set(buckets.map((b) => b.getTime()));
          for (const bucket of buckets) {
            expect(bucket.getTime() % size).toBe(0);
            expect(bucket.getTime()).toBeGreaterThanOrEqual(from.getTime());
            expect(bucket.getTime()).toBeLessThan(to.getTime());
            let open = false;
            for (let t = bucket.getTime(); t < bucket.getTime() + size && !open; t += 60_000) open = cme.isOpen(new Date(t));
            expect(open, `${timeframe} bucket ${bucket.toISOString()} has no open minute`).toBe(true);
          }
          for (let t = Math.ceil(from.getTime() / size) * size; t < to.getTime(); t += 60_000) {
            if (cme.isOpen(new Date(t))) expect(expected.has(Math.floor(t / size) * size)).toBe(true);
          }
        },
      ),
      { ...fuzzed(1802), numRuns: Math.min(fuzzed(1802).numRuns, 60) },
    );
  });

  it("property: lastClosedBucket is expected, has ended, and no later expected bucket has ended", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.parse("2026-01-05T00:00:00Z"), max: Date.parse("2027-12-20T00:00:00Z") }), fc.constantFrom(...FUTURES), (ms, timeframe) => {
        const now = new Date(ms);
        const size = timeframeMs(timeframe);
        const last = cme.lastClosedBucket(timeframe, now)!;
        expect(last.getTime() + size).toBeLessThanOrEqual(now.getTime());
        expect(cme.expectedBuckets(timeframe, last, new Date(last.getTime() + 1))).toHaveLength(1);
        const later = cme.expectedBuckets(timeframe, new Date(last.getTime() + size), now).filter((b) => b.getTime() + size <= now.getTime());
        expect(later).toEqual([]);
      }),
      fuzzed(1803),
    );
  });

  it("calendarFor knows always and cme_globex, and names the known ones for anything else", () => {
    expect(calendarFor("always").isOpen(at("2026-12-12T12:00:00Z"))).toBe(true);
    expect(calendarFor("cme_globex", { holidays }).isOpen(at("2026-12-25T15:00:00Z"))).toBe(false);
    expect(() => calendarFor("nyse")).toThrow(/unknown trading calendar "nyse".*cme_globex/);
  });
});
