import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calendarFor } from "../../supabase/functions/_shared/candles/calendars.ts";
import { loadMarketHolidays } from "../../supabase/functions/_shared/candles/sql/market-holidays.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe("futures instruments and holiday rows", () => {
  it("the old pipeline's 16 cron jobs are 16 stream rows: NQ, MNQ, ES, MES × 5/15/30/60 minutes on cme_globex, disabled until enabled", async () => {
    const rows = await db.sql<{ symbol: string; calendar: string; enabled: boolean; timeframes: string[] }[]>`
      select i.symbol, i.calendar, i.enabled, array_agg(s.timeframe order by s.timeframe) as timeframes
      from peakwatch.instruments i join peakwatch.candle_streams s on s.instrument_id = i.id
      where i.provider = 'tradovate' group by i.symbol, i.calendar, i.enabled order by i.symbol`;
    expect(rows).toEqual(["ES", "MES", "MNQ", "NQ"].map((symbol) => ({ symbol, calendar: "cme_globex", enabled: false, timeframes: ["15m", "1h", "30m", "5m"] })));
  });

  it("a Tradovate stream of a size whose bars follow CME's trade date (4h, 1d) is refused", async () => {
    const [nq] = await db.sql<{ id: number }[]>`select id from peakwatch.instruments where provider = 'tradovate' and symbol = 'NQ'`;
    await expect(db.sql`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${nq!.id}, '4h')`).rejects.toMatchObject({ code: "22023" });
    await db.sql`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${nq!.id}, '1m')`;
  });

  it("holiday rows are editable and feed the calendar; a malformed row is refused by the table", async () => {
    const holidays = await loadMarketHolidays(db.sql, "cme_globex");
    expect(holidays).toContainEqual({ day: "2026-12-25", kind: "closed", closeTime: null });
    expect(holidays).toContainEqual({ day: "2026-12-24", kind: "early_close", closeTime: "12:15" });
    await db.sql`insert into peakwatch.market_holidays (calendar, day, kind, close_time, note) values ('cme_globex', '2026-12-31', 'early_close', '12:15', 'test')`;
    const edited = calendarFor("cme_globex", { holidays: await loadMarketHolidays(db.sql, "cme_globex") });
    expect(edited.isOpen(new Date("2026-12-31T18:30:00Z"))).toBe(false);
    await expect(db.sql`insert into peakwatch.market_holidays (calendar, day, kind) values ('cme_globex', '2027-02-01', 'early_close')`).rejects.toMatchObject({ code: "23514" });
  });
});
