import { alwaysOpen, type TradingCalendar } from "./calendar.ts";

/** What a calendar may need besides its name (h18's CME Globex calendar takes its holiday rows). */
export interface CalendarInputs {
  holidays?: readonly unknown[];
}

/** The calendar an instrument names (instruments.calendar); an unknown name is an error, never "always open". */
export function calendarFor(name: string, _inputs: CalendarInputs = {}): TradingCalendar {
  switch (name) {
    case alwaysOpen.name:
      return alwaysOpen;
    default:
      throw new Error(`unknown trading calendar "${name}" (known: always)`);
  }
}
