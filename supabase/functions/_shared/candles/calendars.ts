import { alwaysOpen, type TradingCalendar } from "./calendar.ts";
import { CME_GLOBEX, cmeGlobexCalendar, type MarketHoliday } from "./cme-calendar.ts";

export interface CalendarInputs {
  /** peakwatch.market_holidays rows of the calendar (loadMarketHolidays); calendars without exceptions ignore them. */
  holidays?: readonly MarketHoliday[];
}

/** The calendar an instrument names (instruments.calendar). */
export function calendarFor(name: string, inputs: CalendarInputs = {}): TradingCalendar {
  switch (name) {
    case alwaysOpen.name:
      return alwaysOpen;
    case CME_GLOBEX:
      return cmeGlobexCalendar(inputs.holidays ?? []);
    default:
      throw new Error(`unknown trading calendar "${name}" (known: always, ${CME_GLOBEX})`);
  }
}
