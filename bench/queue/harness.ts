import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/** The same shape of work for every system: 4 workers (pools/instances), each running 4 jobs at once. */
export const WORKERS = 4;
export const CONCURRENCY = 4;
/** Items per claim for the systems whose batch we choose (peakwatch, pg-boss tuned). */
export const BATCH = 100;
/** How long a hand-written consumer loop waits after an empty claim (pg-boss's minimum polling interval; the tracker's own). */
export const IDLE_POLL_MS = 500;

/** The per-item work: nothing, awaited once per item, identical for every system. */
export async function noop(_item: unknown): Promise<void> {}

/** What a system reports while it runs; times are performance.now() in the child process. */
export interface Probe {
  /** A claim round trip issued at `issuedAt` returned `items` items (0 is ignored). */
  claimed(issuedAt: number, items: number): void;
  /** `items` completions were committed (or, for systems marked `completionsBatchedInternally`, handed to the system's completer). */
  completed(items: number): void;
  /** One database round trip of the consumers; `ms` when the system lets us time it. */
  roundTrip(kind: RoundTripKind, ms?: number): void;
}

export type RoundTripKind = "claim" | "complete";

export interface RoundTrips {
  count: number;
  /** Mean wall time of the timed ones, ms; null when the system does not let us time them. */
  meanMs: number | null;
}

export interface QueueSystem {
  name: string;
  /** Every setting that differs from the library's defaults, and the ones that shape the work. */
  settings: Record<string, string | number | boolean>;
  /** True when `completed` fires before the commit (graphile-worker's completion batcher): the end of a drain is then read from the database. */
  completionsBatchedInternally: boolean;
  /** Installs the schema and opens the producer connection; never timed. */
  install(): Promise<void>;
  /** Adds `n` items in one transaction through the system's own producer path. */
  produce(n: number): Promise<void>;
  /** Starts WORKERS × CONCURRENCY consumers on the empty queue; resolves once they are running. */
  start(probe: Probe): Promise<void>;
  /** Items not yet completed, read from the database. */
  remaining(): Promise<number>;
  stop(): Promise<void>;
}

class Recorder implements Probe {
  firstClaimAt = Number.POSITIVE_INFINITY;
  lastCompletedAt = 0;
  completedItems = 0;
  private waiter: { target: number; resolve: () => void } | undefined;
  private trips = { claim: { count: 0, timed: 0, ms: 0 }, complete: { count: 0, timed: 0, ms: 0 } };

  roundTrip(kind: RoundTripKind, ms?: number): void {
    const trip = this.trips[kind];
    trip.count += 1;
    if (ms !== undefined) {
      trip.timed += 1;
      trip.ms += ms;
    }
  }

  roundTrips(kind: RoundTripKind): RoundTrips {
    const trip = this.trips[kind];
    return { count: trip.count, meanMs: trip.timed > 0 ? trip.ms / trip.timed : null };
  }

  claimed(issuedAt: number, items: number): void {
    if (items > 0 && issuedAt < this.firstClaimAt) this.firstClaimAt = issuedAt;
  }

  completed(items: number): void {
    this.completedItems += items;
    this.lastCompletedAt = performance.now();
    if (this.waiter && this.completedItems >= this.waiter.target) this.waiter.resolve();
  }

  whenCompleted(target: number): Promise<void> {
    if (this.completedItems >= target) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { target, resolve }));
  }
}

export interface DrainRun {
  items: number;
  enqueued: number;
  seconds: number;
  itemsPerSecond: number;
  /** False when the time cap ended the drain: items/s is then what was done within the cap. */
  complete: boolean;
  claims: RoundTrips;
  completes: RoundTrips;
}

/**
 * Drain: consumers start on an empty queue and go idle, then all items arrive in one transaction.
 * The clock starts when the first claim that returned work was issued and stops when the last
 * completion committed (for internally batched completers: when the database shows none left).
 */
export async function runDrain(system: QueueSystem, items: number, capMs: number): Promise<DrainRun> {
  await system.install();
  const recorder = new Recorder();
  await system.start(recorder);
  await sleep(300);
  if (recorder.completedItems !== 0) throw new Error(`${system.name}: completions before any item was produced`);
  await system.produce(items);
  const producedAt = performance.now();
  await Promise.race([recorder.whenCompleted(items), sleep(capMs)]);
  let complete = recorder.completedItems >= items;
  let end = complete ? recorder.lastCompletedAt : performance.now();
  if (complete && system.completionsBatchedInternally) {
    while ((await system.remaining()) > 0) {
      if (performance.now() - producedAt > capMs) {
        complete = false;
        break;
      }
    }
    end = performance.now();
  }
  const done = Math.min(items, recorder.completedItems);
  await system.stop();
  if (!Number.isFinite(recorder.firstClaimAt)) throw new Error(`${system.name}: no claim returned work within ${capMs} ms`);
  const seconds = (end - recorder.firstClaimAt) / 1000;
  return {
    items: done,
    enqueued: items,
    seconds,
    itemsPerSecond: done / seconds,
    complete,
    claims: recorder.roundTrips("claim"),
    completes: recorder.roundTrips("complete"),
  };
}

export interface SteadyStep {
  rate: number;
  produced: number;
  completed: number;
  /** Mean backlog (produced, not yet completed) over each half of the step, sampled every tick. */
  backlogFirstHalf: number;
  backlogSecondHalf: number;
  backlogEnd: number;
  producerKeptUp: boolean;
  sustained: boolean;
}

export interface SteadyRun {
  /** Highest rate (items/s) at which the backlog did not grow; 0 when even the first step failed. */
  sustained: number;
  /** True when the producer, not the consumers, limited the last step. */
  producerBound: boolean;
  steps: SteadyStep[];
}

export interface SteadyConfig {
  startRate: number;
  maxRate: number;
  stepMs: number;
  /** Bisection steps between the last sustained and the first failed rate. */
  refine: number;
}

const TICK_MS = 50;
/** Items a step may end with beyond the rules below, for batch granularity at low rates. */
const SLACK = 100;

/**
 * Steady state: producers add items every 50 ms at a fixed rate for one step; the rate doubles
 * until a step's backlog grows, then bisects between the last good and the first bad rate.
 * A step is sustained when the mean backlog of its second half exceeds that of its first half by
 * less than 10 % of what arrives in a half (plus SLACK items), stays under 2 s of arrivals (plus
 * SLACK), and the producer kept to 95 % of the rate. Means, not end points: consumers that sleep
 * after an empty claim leave a saw-tooth backlog that is stable, not growing.
 */
export async function runSteady(system: QueueSystem, config: SteadyConfig): Promise<SteadyRun> {
  await system.install();
  const recorder = new Recorder();
  await system.start(recorder);
  await sleep(300);
  let produced = 0;
  const backlog = () => produced - recorder.completedItems;

  const step = async (rate: number): Promise<SteadyStep> => {
    const producedBefore = produced;
    const completedBefore = recorder.completedItems;
    const started = performance.now();
    const halves = [{ sum: 0, n: 0 }, { sum: 0, n: 0 }];
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= config.stepMs) break;
      const half = halves[elapsed < config.stepMs / 2 ? 0 : 1]!;
      half.sum += backlog();
      half.n += 1;
      const due = Math.floor((rate * elapsed) / 1000) - (produced - producedBefore);
      if (due > 0) {
        await system.produce(due);
        produced += due;
      }
      await sleep(TICK_MS);
    }
    const [first, second] = halves.map((h) => h.sum / Math.max(1, h.n)) as [number, number];
    const backlogEnd = backlog();
    const inStep = produced - producedBefore;
    const producerKeptUp = inStep >= 0.95 * rate * (config.stepMs / 1000);
    const arrivedPerHalf = (rate * config.stepMs) / 2000;
    const sustained = producerKeptUp && second - first <= 0.1 * arrivedPerHalf + SLACK && second <= 2 * rate + SLACK;
    return {
      rate,
      produced: inStep,
      completed: recorder.completedItems - completedBefore,
      backlogFirstHalf: Math.round(first),
      backlogSecondHalf: Math.round(second),
      backlogEnd,
      producerKeptUp,
      sustained,
    };
  };

  const settle = async (): Promise<boolean> => {
    const until = performance.now() + 15_000;
    while (backlog() > 0 && performance.now() < until) await sleep(100);
    return backlog() <= 0;
  };

  const steps: SteadyStep[] = [];
  let good = 0;
  let bad = 0;
  for (let rate = config.startRate; rate <= config.maxRate; rate *= 2) {
    const result = await step(rate);
    steps.push(result);
    if (!result.sustained) {
      bad = rate;
      break;
    }
    good = rate;
  }
  for (let i = 0; i < config.refine && bad > 0 && good > 0 && (await settle()); i++) {
    const rate = Math.round((good + bad) / 2);
    const result = await step(rate);
    steps.push(result);
    if (result.sustained) good = rate;
    else bad = rate;
  }
  await system.stop();
  const last = steps.at(-1);
  return { sustained: good, producerBound: last !== undefined && !last.producerKeptUp, steps };
}
