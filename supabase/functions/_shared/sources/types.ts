import type { IngestCall } from "../calls/call-input.ts";

export const SOURCE_KINDS = ["manual", "http_feed", "dexscreener_profiles", "geckoterminal_trending"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** A source as a poll sees it: claimed (leased) from `peakwatch.sources`. */
export interface Source {
  id: number;
  name: string;
  kind: SourceKind;
  /** `sources.config` as stored: each kind parses it with its own schema. */
  config: unknown;
  cursor: string | null;
  pollIntervalSeconds: number;
}

/** One read of a source, already turned into calls. */
export interface Page {
  calls: IngestCall[];
  /** Items that failed the source's wire schema: counted, never silently dropped. */
  unreadable: number;
  /** Where the first unreadable item went wrong, e.g. `calls[3].token_address: expected string`. */
  firstIssue: string | null;
  /** Items left out on purpose (a chain the source is not configured for). */
  skipped: number;
  /** The cursor to store with these calls; null leaves the stored cursor as it is. */
  cursor: string | null;
  /** Another page is waiting now. */
  more: boolean;
  /** Something the operator should see (a cursor that went backwards); the calls still go in. */
  warning: string | null;
}

export interface SourceReader {
  /** Most pages one poll reads before handing over to the next poll. */
  readonly maxPages: number;
  readPage(cursor: string | null, signal: AbortSignal): Promise<Page>;
}

/** `sources.config` does not fit the kind's schema, or a variable it names is not set. */
export class SourceConfigError extends Error {
  override name = "SourceConfigError";
}

/** Our own shared rate limit had no slot soon enough: the poll waits for the next run, nothing failed. */
export class ThrottledError extends Error {
  override name = "ThrottledError";
}

/** A rate limit shared by every instance (limits/gcra.ts). */
export interface Gate {
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}

/** How long a read waits for a slot of a shared quota before leaving the source to the next run. */
export const MAX_GATE_WAIT_MS = 5_000;
