import type { DrainRun } from "./harness.ts";
import type { Spread } from "./stats.ts";

export interface SystemFigures {
  name: string;
  settings: Record<string, string | number | boolean>;
  spread: Spread;
  /** A drain ended by the time cap in some run: items/s is what was done within the cap. */
  partial: boolean;
  /** A steady-state run ended because the producer could not keep to the rate. */
  producerBound?: boolean;
}

export const OURS = "peakwatch";
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * One block per scenario: every system's median (min, max), then peakwatch against each tuned peer
 * and against the best of the peers at their defaults. `floor` is the lowest rate a scenario tries:
 * a 0 means "below it".
 */
export function formatComparison(title: string, systems: SystemFigures[], options: { floor?: number } = {}): string[] {
  const width = Math.max(...systems.map((s) => s.name.length)) + 2;
  const shown = (n: number) => (n === 0 && options.floor ? `< ${int(options.floor)}` : int(n));
  const lines = [title];
  for (const s of systems) {
    const notes = [s.partial ? "time cap hit: items/s within the cap" : "", s.producerBound ? "producer-bound" : ""].filter(Boolean);
    lines.push(
      `  ${s.name.padEnd(width)}median ${shown(s.spread.median).padStart(8)} items/s  (min ${shown(s.spread.min)}, max ${shown(s.spread.max)}, ${s.spread.runs} runs)${notes.length ? `  [${notes.join("; ")}]` : ""}`,
    );
  }
  const ours = systems.find((s) => s.name === OURS);
  if (!ours) return lines;
  const ratio = (other: SystemFigures) => {
    if (other.spread.median > 0) return `${(ours.spread.median / other.spread.median).toFixed(2)}x`;
    return options.floor ? `> ${(ours.spread.median / options.floor).toFixed(1)}x` : "n/a";
  };
  for (const tuned of systems.filter((s) => s.name.includes("tuned"))) {
    lines.push(`  ratio peakwatch / ${tuned.name}: ${ratio(tuned)} (medians)`);
  }
  const defaults = systems.filter((s) => s.name.includes("defaults"));
  if (defaults.length > 0) {
    const best = defaults.reduce((a, b) => (b.spread.median > a.spread.median ? b : a));
    lines.push(`  ratio peakwatch / best default (${best.name}): ${ratio(best)} (medians; goal >= 3x)`);
  }
  return lines;
}

/** Where a drain's time goes: round trips per 1,000 items in each system's median run, and their mean time where it can be timed. */
export function formatRoundTrips(systems: Array<{ name: string; runs: DrainRun[] }>): string[] {
  const width = Math.max(...systems.map((s) => s.name.length)) + 2;
  const lines = ["  round trips per 1,000 items in the median run (mean ms each where the system lets us time it):"];
  for (const { name, runs } of systems) {
    const sorted = [...runs].sort((a, b) => a.itemsPerSecond - b.itemsPerSecond);
    const run = sorted[Math.floor(sorted.length / 2)]!;
    const per = (n: number) => ((1000 * n) / Math.max(1, run.items)).toFixed(1);
    const mean = (ms: number | null) => (ms === null ? "" : ` (${ms.toFixed(2)} ms)`);
    const completes = name.includes("graphile") ? "not observable (batched inside the library)" : `${per(run.completes.count)}${mean(run.completes.meanMs)}`;
    lines.push(`    ${name.padEnd(width)}claims ${per(run.claims.count)}${mean(run.claims.meanMs)}, completes ${completes}`);
  }
  return lines;
}
