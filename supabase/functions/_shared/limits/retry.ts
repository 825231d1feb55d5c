import { sleep as defaultSleep } from "./sleep.ts";

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  /** Backoff before retry n (0-based) is drawn from min(capMs, baseMs·2ⁿ). */
  baseMs: number;
  capMs: number;
  /** full: uniform in [0, d] (spreads callers best); equal: uniform in [d/2, d] (never retries at once). */
  jitter?: "full" | "equal";
  /** Epoch ms; a retry whose wait would reach it is not made — the last error is thrown instead. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Callers classify their own errors; everything is retried when omitted. */
  isRetryable?: (error: unknown) => boolean;
  /** A server-given wait (Retry-After); the retry waits at least this long, even past capMs. */
  retryAfterMs?: (error: unknown) => number | undefined;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

function backoffMs(retry: number, options: Pick<RetryOptions, "baseMs" | "capMs" | "jitter">, random: () => number): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** retry);
  return options.jitter === "equal" ? ceiling / 2 + random() * (ceiling / 2) : random() * ceiling;
}

/**
 * Runs `fn` (given the 0-based attempt number) until it resolves. The last error is rethrown
 * unchanged when it is not retryable, retries are used up, or the next wait would reach the deadline;
 * an abort rejects with the signal's reason.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal, isRetryable = () => true } = options;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;

  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted || attempt >= options.retries || !isRetryable(error)) throw error;
      const serverWait = options.retryAfterMs?.(error);
      const delayMs = Math.max(backoffMs(attempt, options, random), serverWait ?? 0);
      if (options.deadlineMs !== undefined && now() + delayMs >= options.deadlineMs) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, signal);
    }
  }
}
