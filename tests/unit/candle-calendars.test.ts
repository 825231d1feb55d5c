import { describe, expect, it } from "vitest";
import { alwaysOpen } from "../../supabase/functions/_shared/candles/calendar.ts";
import { calendarFor } from "../../supabase/functions/_shared/candles/calendars.ts";

describe("calendarFor", () => {
  it("'always' is the around-the-clock calendar of DEX pools", () => {
    expect(calendarFor("always")).toBe(alwaysOpen);
  });

  it("an unknown calendar name is a clear error, not a silent always-open", () => {
    expect(() => calendarFor("nyse")).toThrow('unknown trading calendar "nyse"');
  });
});
