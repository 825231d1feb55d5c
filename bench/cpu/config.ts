import { z } from "zod";

/** What bench/cpu.ts hands the Deno processes (one JSON env variable; no secrets beyond a throw-away key). */
export const cpuConfig = z.object({
  dbUrl: z.string(),
  healthDbUrl: z.string(),
  memoryDbUrl: z.string(),
  redisUrl: z.string(),
  simUrl: z.string(),
  geckoterminalUrl: z.string(),
  keyPrefix: z.string(),
  serviceKey: z.string().min(16),
  sourceName: z.string(),
  trackerBatch: z.number().int().positive(),
  pollerPage: z.number().int().positive(),
  warmup: z.number().int().min(0),
  runs: z.number().int().positive(),
  memoryTokens: z.number().int().positive(),
  resultFile: z.string(),
});
export type CpuConfig = z.infer<typeof cpuConfig>;

export const parseCpuConfig = (raw: string | undefined): CpuConfig => cpuConfig.parse(JSON.parse(raw ?? "null"));

/** CPU ms per measured invocation, in order. */
export interface CpuSamples {
  tracker: number[];
  poller: number[];
  health: number[];
}

export interface MemorySample {
  /** Seconds since the first invocation started. */
  s: number;
  priced: number;
  invocations: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}
