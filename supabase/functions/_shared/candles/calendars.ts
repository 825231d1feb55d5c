import { alwaysOpen, type TradingCalendar } from "./calendar.ts";
import { CME_GLOBEX, cmeGlobexCalendar, type MarketHoliday } from "./cme-calendar.ts";

/** What a calendar may need besides its name: the CME Globex calendar takes its holiday rows (loadMarketHolidays). */
export interface CalendarInputs {
  holidays?: readonly MarketHoliday[];
}

/** The calendar an instrument names (instruments.calendar); an unknown name is an error, never "always open". */
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
