export interface DrainConfig {
  items: number;
  workers: number;
  batch: number;
  /** Epoch ms at which workers stop even if items are left; the result is then marked partial. */
  deadline: number;
}

export interface DrainResult {
  system: string;
  /** Items processed; less than `enqueued` only when the drain hit its time limit. */
  items: number;
  enqueued: number;
  workers: number;
  /** Items per fetch round trip as the system actually works (graphile-worker 0.16: always 1). */
  batch: number;
  seconds: number;
  itemsPerSecond: number;
  complete: boolean;
  notes: string;
}

/**
 * Runs `workers` loops concurrently; each calls `step` until it returns 0 (nothing left for it)
 * or the deadline passes. Returns how many items were processed and the wall time of the drain.
 */
export async function drain(
  config: DrainConfig,
  step: (worker: number) => Promise<number>,
): Promise<{ processed: number; seconds: number }> {
  const loop = async (worker: number): Promise<number> => {
    let processed = 0;
    while (Date.now() < config.deadline) {
      const done = await step(worker);
      if (done === 0) break;
      processed += done;
    }
    return processed;
  };
  const started = performance.now();
  const counts = await Promise.all(Array.from({ length: config.workers }, (_, i) => loop(i)));
  const seconds = (performance.now() - started) / 1000;
  return { processed: counts.reduce((a, b) => a + b, 0), seconds };
}

export function drainResult(
  system: string,
  config: DrainConfig,
  run: { processed: number; seconds: number; batch?: number },
  notes: string,
): DrainResult {
  return {
    system,
    items: run.processed,
    enqueued: config.items,
    workers: config.workers,
    batch: run.batch ?? config.batch,
    seconds: run.seconds,
    itemsPerSecond: run.processed / run.seconds,
    complete: run.processed === config.items,
    notes,
  };
}

/** Once a drain has finished (not timed out), nothing may be left: a benchmark that loses work measures nothing. */
export function assertDrained(result: DrainResult, left: number, what: string): void {
  if (result.complete && left !== 0) throw new Error(`${result.system}: ${left} ${what} left after the drain`);
  if (!result.complete) console.error(`[bench:queue] ${result.system}: time limit hit, ${result.items} of ${result.enqueued} done`);
}
