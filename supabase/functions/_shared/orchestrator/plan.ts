/** How many extra trackers to start so the due backlog drains within about a minute. */
export interface FanOutInput {
  dueCount: number;
  /** Tokens one tracker priced per minute recently (null when there is no history yet). */
  perTrackerPerMinute: number | null;
  /** What the shared provider quota can price per minute across every tracker (requests/min × 30). */
  providerCeilingPerMinute: number;
  /** The scheduled tracker already covers this much; fan-out adds to it. */
  scheduledTrackers: number;
  maxFanOut: number;
}

export const DEFAULT_PER_TRACKER_PER_MINUTE = 3_000;

export function extraTrackers(input: FanOutInput): number {
  const perTracker = Math.max(1, input.perTrackerPerMinute ?? DEFAULT_PER_TRACKER_PER_MINUTE);
  const wanted = Math.ceil(input.dueCount / perTracker);
  // More trackers than the quota can feed only wait on the limiter.
  const useful = Math.ceil(input.providerCeilingPerMinute / perTracker);
  return Math.max(0, Math.min(wanted, useful, input.maxFanOut + input.scheduledTrackers) - input.scheduledTrackers);
}
