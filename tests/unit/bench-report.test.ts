import { describe, expect, it } from "vitest";
import { formatCpu, percentile } from "../../bench/cpu/report.ts";
import { formatComparison, type SystemFigures } from "../../bench/queue/report.ts";
import { rotate, spread } from "../../bench/queue/stats.ts";

const figures = (name: string, values: number[], partial = false): SystemFigures => ({ name, settings: {}, spread: spread(values), partial });

describe("bench:queue arithmetic", () => {
  it("takes the median of an odd and an even number of runs, with min and max", () => {
    expect(spread([5, 1, 3])).toEqual({ runs: 3, median: 3, min: 1, max: 5 });
    expect(spread([4, 1, 3, 2])).toEqual({ runs: 4, median: 2.5, min: 1, max: 4 });
  });

  it("rotates the order so every system starts one run", () => {
    expect([0, 1, 2].map((r) => rotate(["a", "b", "c"], r)[0])).toEqual(["a", "b", "c"]);
    expect(rotate(["a", "b", "c"], 4)).toEqual(["b", "c", "a"]);
  });
});

describe("bench:queue report", () => {
  const systems = [
    figures("peakwatch", [900, 1000, 1100]),
    figures("graphile-worker tuned (localQueue 100)", [500, 500, 500]),
    figures("graphile-worker defaults", [90, 100, 110], true),
    figures("pg-boss tuned", [250, 250, 250]),
    figures("pg-boss defaults", [0, 0, 0], true),
  ];

  it("prints peakwatch against every tuned peer and against the best default, on lines saying so", () => {
    const lines = formatComparison("drain", systems);
    expect(lines.find((l) => l.includes("tuned (localQueue 100):"))).toContain("2.00x");
    expect(lines.find((l) => l.includes("/ pg-boss tuned:"))).toContain("4.00x");
    expect(lines.find((l) => l.includes("best default"))).toMatch(/graphile-worker defaults\): 10\.00x/);
  });

  it("marks drains the time cap ended and reads a 0 as below the lowest rate tried", () => {
    const lines = formatComparison("steady", systems, { floor: 200 });
    expect(lines.find((l) => l.startsWith("  graphile-worker defaults"))).toContain("time cap hit");
    expect(lines.find((l) => l.startsWith("  pg-boss defaults"))).toContain("median    < 200 items/s");
  });
});

describe("bench:cpu report", () => {
  it("uses the nearest-rank p95 and flags an invocation over the 200 ms bar", () => {
    const values = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(percentile(values, 95)).toBe(190);
    const lines = formatCpu({ tracker: values, poller: [...values.slice(0, 19), 1_000], health: values.map((v) => v * 2) }, { trackerBatch: 90, pollerPage: 100, healthTokens: 1_000_000 });
    expect(lines[1]).toMatch(/p95 190\.0 ms.*: ok$/);
    expect(lines[3]).toMatch(/p95 380\.0 ms.*OVER THE BAR$/);
  });
});
