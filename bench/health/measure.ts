import { performance } from "node:perf_hooks";

export interface Timing {
  iterations: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Runs `work` `warmup` times untimed, then `iterations` times one after another. */
export async function time(work: () => Promise<unknown>, iterations: number, warmup = 10): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await work();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { iterations, p50Ms: percentile(samples, 0.5), p95Ms: percentile(samples, 0.95), maxMs: samples.at(-1)! };
}
