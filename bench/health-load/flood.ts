/**
 * An open-loop flood of GETs: requests go out on schedule whether or not earlier ones have answered,
 * for a bounded time, to one loopback URL. Used by `npm run bench:health-load` and by the fault
 * drill's `--under-load`.
 */
export interface FloodResult {
  latencies: number[];
  statuses: Map<string, number>;
  maxInFlight: number;
}

export async function flood(url: string, rate: number, seconds: number, stop: () => boolean = () => false): Promise<FloodResult> {
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  let inFlight = 0;
  let maxInFlight = 0;
  const fire = () => {
    const started = performance.now();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    fetch(url)
      .then(async (response) => {
        await response.arrayBuffer();
        count(String(response.status));
      })
      .catch((error: Error) => count(`error ${error.name}`))
      .finally(() => {
        inFlight--;
        latencies.push(performance.now() - started);
      });
  };
  const end = Date.now() + seconds * 1_000;
  const interval = 1_000 / rate;
  let next = performance.now();
  while (Date.now() < end && !stop()) {
    while (performance.now() >= next) {
      fire();
      next += interval;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  return { latencies, statuses, maxInFlight };
}
