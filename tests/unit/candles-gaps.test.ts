import { describe, expect, it } from "vitest";
import { alwaysOpen } from "../../supabase/functions/_shared/candles/calendar.ts";
import { bucketsIn, missingRanges } from "../../supabase/functions/_shared/candles/gaps.ts";

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));

describe("gap detection", () => {
  it("missing buckets become ranges of consecutive buckets; stored (synthetic or not) ones never are", () => {
    const stored = [0, 1, 4, 5, 6, 9].map(at);
    const ranges = missingRanges(alwaysOpen, "1m", at(0), at(10), stored);
    expect(ranges).toEqual([{ from: at(2), to: at(4) }, { from: at(7), to: at(9) }]);
    expect(bucketsIn(ranges, "1m")).toBe(4);
  });

  it("nothing missing is no range, and a window with nothing stored is one range", () => {
    expect(missingRanges(alwaysOpen, "5m", at(0), at(30), [0, 5, 10, 15, 20, 25].map(at))).toEqual([]);
    expect(missingRanges(alwaysOpen, "5m", at(0), at(30), [])).toEqual([{ from: at(0), to: at(30) }]);
  });
});
