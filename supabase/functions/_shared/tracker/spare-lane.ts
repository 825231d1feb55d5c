import type { ProviderResult } from "../providers/types.ts";
import { callLane, type Lane, type LaneCounters, LaneUnavailableError } from "./lanes.ts";

/**
 * Both budgets in use: when the fallback has a rate-limit slot free right now (nothing queued for
 * it as a fallback), a chunk is asked of it first, and the primary only for what it left unpriced.
 * Never waits: a slot that is not free now stays for the fallback role. Null when it was not asked
 * or failed (the primary is asked for everything; a failure is counted by the caller).
 */
export async function askSpare(
  lane: Lane,
  chain: string,
  addresses: string[],
  options: { deadline: number; signal: AbortSignal; counters: LaneCounters },
): Promise<{ result: ProviderResult | null; failed: boolean }> {
  if (await lane.breaker.isOpen()) return { result: null, failed: false };
  try {
    // 1 ms: a free slot now, or none (a 0 ms budget would not even look)
    return { result: await callLane(lane, chain, addresses, { ...options, maxWaitMs: 1 }), failed: false };
  } catch (error) {
    return { result: null, failed: !(error instanceof LaneUnavailableError) && !options.signal.aborted };
  }
}
