import { z } from "zod";
import type { TradingCalendar } from "./calendar.ts";
import { timeframeMs } from "./timeframes.ts";

/**
 * CME Globex equity-index futures (NQ, MNQ, ES, MES), in America/Chicago time. The session of trade
 * date D (Monday–Friday) runs from 17:00 on the calendar day before D to 16:00 on D, so Monday's
 * opens Sunday 17:00, Friday's closes at 16:00 and the hour 16:00–17:00 is the daily halt. A holiday
 * row either cancels a trade date's session (`closed`) or ends it early (`early_close` at
 * `closeTime`); the next session still opens at 17:00. Christmas 2026, for example, is an early
 * close on Dec 24 at 12:15 and a closed Dec 25: trading stops Thursday 12:15 and resumes Sunday 17:00.
 *
 * Pure: the holiday rows (peakwatch.market_holidays) come in as an argument.
 */
export const CME_GLOBEX = "cme_globex";

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, "HH:MM in America/Chicago");

export const marketHoliday = z
  .object({
    /** The trade date, YYYY-MM-DD. */
    day: z.iso.date(),
    kind: z.enum(["closed", "early_close"]),
    /** Chicago time the session ends on an early-close day; null for a closed day. */
    closeTime: clock.nullable(),
  })
  .refine((row) => (row.kind === "early_close") === (row.closeTime !== null), "an early_close needs close_time, a closed day has none");

export type MarketHoliday = z.infer<typeof marketHoliday>;

const ZONE = "America/Chicago";
const OPEN_MINUTE = 17 * 60;
const CLOSE_MINUTE = 16 * 60;
const DAY_MS = 86_400_000;
/** The longest run of closed trade dates looked through (a holiday weekend is 4 calendar days). */
const MAX_CLOSED_DAYS = 14;

const parts = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** Chicago wall time of an instant, as if it were UTC (so date arithmetic stays in Date.UTC). */
function chicagoWall(utcMs: number): number {
  const get: Record<string, number> = {};
  for (const part of parts.formatToParts(new Date(utcMs))) if (part.type !== "literal") get[part.type] = Number(part.value);
  return Date.UTC(get.year!, get.month! - 1, get.day!, get.hour!, get.minute!, get.second!) + (utcMs % 1000 + 1000) % 1000;
}

/** The instant at a Chicago wall time (the times used here, 12:00–17:00, never fall in a DST gap or overlap). */
function fromChicagoWall(wallMs: number): number {
  // The offset at a guess, then again at the corrected instant: right on both sides of a DST change.
  let utc = wallMs - (chicagoWall(wallMs) - wallMs);
  utc = wallMs - (chicagoWall(utc) - utc);
  return utc;
}

/** The instant of a Chicago wall time: year, month (1–12), day, minutes after midnight. */
export const chicagoTime = (year: number, month: number, day: number, minute: number): Date => new Date(fromChicagoWall(Date.UTC(year, month - 1, day) + minute * 60_000));

const dayKey = (dayMs: number) => new Date(dayMs).toISOString().slice(0, 10);
const minutesOf = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

export interface Session {
  /** The trade date, YYYY-MM-DD. */
  tradeDate: string;
  start: Date;
  end: Date;
}

export function cmeGlobexCalendar(holidays: readonly MarketHoliday[] = []): TradingCalendar & {
  /** The sessions whose trade dates fall in [fromDay, toDay] (day starts as UTC midnights of Chicago dates). */
  sessions(from: Date, to: Date): Session[];
} {
  const byDay = new Map(holidays.map((holiday) => [holiday.day, holiday]));

  /** Session of the trade date starting at `dayMs` (UTC midnight of a Chicago date); null when there is none. */
  function sessionOf(dayMs: number): Session | null {
    const weekday = new Date(dayMs).getUTCDay();
    if (weekday === 0 || weekday === 6) return null;
    const holiday = byDay.get(dayKey(dayMs));
    if (holiday?.kind === "closed") return null;
    const closeMinute = holiday?.closeTime ? minutesOf(holiday.closeTime) : CLOSE_MINUTE;
    return {
      tradeDate: dayKey(dayMs),
      start: new Date(fromChicagoWall(dayMs - DAY_MS + OPEN_MINUTE * 60_000)),
      end: new Date(fromChicagoWall(dayMs + closeMinute * 60_000)),
    };
  }

  /** UTC midnight of the Chicago date an instant falls on. */
  const chicagoDay = (utcMs: number) => Math.floor(chicagoWall(utcMs) / DAY_MS) * DAY_MS;

  function sessions(from: Date, to: Date): Session[] {
    const found: Session[] = [];
    // A session starts the calendar day before its trade date, so look one day past `to`.
    for (let day = chicagoDay(from.getTime()); day <= chicagoDay(to.getTime()) + DAY_MS; day += DAY_MS) {
      const session = sessionOf(day);
      if (session && session.end.getTime() > from.getTime() && session.start.getTime() < to.getTime()) found.push(session);
    }
    return found;
  }

  return {
    name: CME_GLOBEX,
    sessions,
    isOpen(at) {
      const t = at.getTime();
      return sessions(at, new Date(t + 1)).some((session) => session.start.getTime() <= t && t < session.end.getTime());
    },
    expectedBuckets(timeframe, from, to) {
      const size = timeframeMs(timeframe);
      const buckets = new Set<number>();
      for (const session of sessions(new Date(from.getTime() - size), to)) {
        const first = Math.max(Math.floor(session.start.getTime() / size) * size, Math.ceil(from.getTime() / size) * size);
        for (let b = first; b < session.end.getTime() && b < to.getTime(); b += size) buckets.add(b);
      }
      return [...buckets].sort((a, b) => a - b).map((b) => new Date(b));
    },
    lastClosedBucket(timeframe, now) {
      const size = timeframeMs(timeframe);
      const t = now.getTime();
      for (let day = chicagoDay(t) + DAY_MS; day >= chicagoDay(t) - MAX_CLOSED_DAYS * DAY_MS; day -= DAY_MS) {
        const session = sessionOf(day);
        if (!session || session.start.getTime() >= t) continue;
        // The newest bucket that overlaps the session and has ended by now.
        const last = Math.min(Math.ceil(session.end.getTime() / size) * size, Math.floor(t / size) * size) - size;
        if (last + size > session.start.getTime()) return new Date(last);
      }
      return null;
    },
  };
}
