import { percentile as nearestRank } from "../tracker/measure.ts";
import type { CpuSamples, MemorySample } from "./config.ts";

export const CPU_LIMIT_MS = 2_000;
export const CPU_BAR_MS = 200;

/** Nearest-rank percentile (bench/tracker/measure.ts); NaN for no values. */
export const percentile = (values: number[], p: number): number => nearestRank(values, p) ?? Number.NaN;

const ms = (n: number) => `${n.toFixed(1)} ms`;

export function formatCpu(samples: CpuSamples, shape: { trackerBatch: number; pollerPage: number; healthTokens: number }): string[] {
  const rows: Array<[string, number[]]> = [
    [`tracker, a batch of ${shape.trackerBatch}`, samples.tracker],
    [`poller, a feed page of ${shape.pollerPage}`, samples.poller],
    [`health, evaluation at ${shape.healthTokens.toLocaleString("en-US")} tokens`, samples.health],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return [
    `CPU per invocation (CPU time of all threads, warm deno, boot excluded; limit ${CPU_LIMIT_MS} ms, bar p95 <= ${CPU_BAR_MS} ms)`,
    ...rows.map(([name, values]) => {
      const p95 = percentile(values, 95);
      return `  ${name.padEnd(width)}p50 ${ms(percentile(values, 50))}, p95 ${ms(p95)}, max ${ms(Math.max(...values))} over ${values.length} runs; p95 is ${((100 * p95) / CPU_LIMIT_MS).toFixed(1)} % of the limit: ${p95 <= CPU_BAR_MS ? "ok" : "OVER THE BAR"}`;
    }),
  ];
}

/** Every n-th sample plus the last, so the printout shows the whole run in about a dozen lines. */
function thin(samples: MemorySample[], lines: number): MemorySample[] {
  const every = Math.max(1, Math.ceil(samples.length / lines));
  const picked = samples.filter((_, i) => i % every === 0);
  if (picked.at(-1) !== samples.at(-1)) picked.push(samples.at(-1)!);
  return picked;
}

export function formatMemory(samples: MemorySample[], tokens: number): string[] {
  const mb = (n: number) => `${n.toFixed(1)} MB`;
  // The first samples include pool connects and first-time compilation; compare the rest.
  const settled = samples.filter((s) => s.invocations >= 1);
  const firstHalf = settled.slice(0, Math.floor(settled.length / 2));
  const secondHalf = settled.slice(Math.floor(settled.length / 2));
  const avg = (xs: MemorySample[], pick: (s: MemorySample) => number) => xs.reduce((a, s) => a + pick(s), 0) / Math.max(1, xs.length);
  const last = samples.at(-1)!;
  return [
    `memory of one deno process (an isolate) while the tracker prices ${tokens.toLocaleString("en-US")} tokens (${last.invocations} invocations, ${last.s.toFixed(0)} s; after a forced GC each second)`,
    ...thin(samples, 12).map(
      (s) => `  ${s.s.toFixed(0).padStart(4)} s  ${String(s.priced).padStart(6)} claimed  rss ${mb(s.rssMb)}  heap used ${mb(s.heapUsedMb)} of ${mb(s.heapTotalMb)}  external ${mb(s.externalMb)}`,
    ),
    settled.length >= 2
      ? `  heap used, mean of first vs second half after the first invocation: ${mb(avg(firstHalf, (s) => s.heapUsedMb))} -> ${mb(avg(secondHalf, (s) => s.heapUsedMb))}; rss ${mb(avg(firstHalf, (s) => s.rssMb))} -> ${mb(avg(secondHalf, (s) => s.rssMb))}; max rss ${mb(Math.max(...samples.map((s) => s.rssMb)))} (hosted limit 256 MB)`
      : "  too few samples after the first invocation to compare halves",
  ];
}
