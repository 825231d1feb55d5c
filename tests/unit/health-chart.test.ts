import { describe, expect, it } from "vitest";
import { lagChartSvg } from "../../supabase/functions/_shared/health/chart.ts";
import { trackerLagBuckets } from "../../supabase/functions/_shared/health/history.ts";
import { renderStatusPage } from "../../supabase/functions/_shared/health/status-page.ts";

const minute = 60_000;

describe("tracker lag from the runs history", () => {
  it("stays below a minute while the tracker succeeds every minute", () => {
    const from = 0;
    const finishes = Array.from({ length: 60 }, (_, i) => from + i * minute + 5_000);
    const points = trackerLagBuckets(finishes, from - 55_000, from, from + 60 * minute, 30);
    expect(points).toHaveLength(30);
    expect(Math.max(...points.map((p) => p.v))).toBeLessThanOrEqual(60);
  });

  it("peaks at the length of an outage and falls back after the next success", () => {
    const finishes = [...Array.from({ length: 10 }, (_, i) => i * minute), ...Array.from({ length: 20 }, (_, i) => (40 + i) * minute)];
    const points = trackerLagBuckets(finishes, null, 0, 60 * minute, 60);
    expect(Math.max(...points.map((p) => p.v))).toBe(31 * 60); // last success at 9 min, next at 40 min
    expect(points.at(-1)!.v).toBeLessThanOrEqual(61);
  });

  it("has no points before the first success on record", () => {
    expect(trackerLagBuckets([], null, 0, 60 * minute, 10)).toEqual([]);
    expect(trackerLagBuckets([], 0, 0, 60 * minute, 10).at(-1)!.v).toBe(3_600);
  });
});

describe("status page", () => {
  const history = { from: 0, to: 6 * 3_600_000, series: [{ key: "tracker", label: "lag", points: [{ t: 3_600_000, v: 30 }, { t: 7_200_000, v: 900 }] }], threshold: { warn: 180, fail: 600 } };

  it("draws the lag as an SVG polyline with the warn and fail limits", () => {
    const svg = lagChartSvg(history);
    expect(svg).toMatch(/^<svg [^>]*id="lag-chart"/);
    expect(svg).toMatch(/<polyline class="series-tracker"[^>]* points="[\d., ]+"/);
    expect(svg).toContain('class="limit-warn"');
    expect(svg).toContain('class="limit-fail"');
  });

  it("is one self-contained page that escapes what it shows and hides outputs from the public", () => {
    const report = {
      status: "fail" as const,
      time: "2026-11-26T01:00:00.000Z",
      summary: { lastRun: null, unprocessedTokens: 3, averageLag: 12.5 },
      checks: [{ name: "tracker:lastSuccessAge", componentType: "component" as const, observedValue: 742, observedUnit: "s", status: "fail" as const, time: "", output: "<img src=x onerror=alert(1)>" }],
      notes: [],
      durationMs: 5,
    };
    const page = renderStatusPage(report, history, false);
    expect(page).not.toMatch(/<script|<link|src="http|href="http/i);
    expect(page).not.toContain("onerror");
    expect(page).toContain("742 s");
    expect(renderStatusPage(report, history, true)).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});
