import { z } from "zod";
import type { Sql } from "../../db/client.ts";
import { type MarketHoliday, marketHoliday } from "../cme-calendar.ts";

const rows = z.array(z.object({ day: z.string(), kind: z.string(), close_time: z.string().nullable() }));

/** The session exceptions of one calendar (peakwatch.market_holidays), parsed; a bad row fails loudly. */
export async function loadMarketHolidays(sql: Sql, calendar: string): Promise<MarketHoliday[]> {
  const found = rows.parse(
    await sql`select to_char(day, 'YYYY-MM-DD') as day, kind, to_char(close_time, 'HH24:MI') as close_time
              from peakwatch.market_holidays where calendar = ${calendar} order by day`,
  );
  return found.map((row) => marketHoliday.parse({ day: row.day, kind: row.kind, closeTime: row.close_time }));
}
