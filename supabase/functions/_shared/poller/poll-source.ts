import { ingestCalls, type IngestResult } from "../calls/ingest.ts";
import type { Sql } from "../db/client.ts";
import { redactText } from "../egress/redact.ts";
import { withRetry } from "../limits/retry.ts";
import { RateLimitedError, SchemaError, UpstreamError } from "../providers/types.ts";
import { finishPoll } from "../sources/finish-poll.ts";
import { readerFor, type SourceDeps } from "../sources/reader.ts";
import { type Page, type Source, type SourceReader, ThrottledError } from "../sources/types.ts";
import { addIngested, emptyCounts, type SourceReport } from "./counts.ts";

export interface RetryPolicy {
  retries: number;
  baseMs: number;
  capMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 1, baseMs: 500, capMs: 2_000 };

export interface PollContext {
  sql: Sql;
  sources: SourceDeps;
  /** Aborts at the end of the time budget or on shutdown; reads stop, what is written stays. */
  signal: AbortSignal;
  /** Epoch ms when the budget ends: a retry that would wait past it is not made (the error counts). */
  deadline?: number;
  retry?: RetryPolicy;
}

const isRetryable = (error: unknown) =>
  error instanceof RateLimitedError || (error instanceof UpstreamError && (error.status === null || error.status >= 500));

// Reports go to sources.last_error, runs, the HTTP answer and alerts: no URL beyond scheme://host.
const describe = (error: unknown) => redactText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * Polls one claimed source: read a page, write it with its cursor in one transaction, repeat while
 * the source has more (up to its page limit and the time budget). A crash between pages loses
 * nothing: the next poll starts from the last stored cursor, and re-read calls are duplicates.
 * Every problem ends up counted in the report and in sources.last_error.
 */
export async function pollSource(ctx: PollContext, source: Source): Promise<SourceReport> {
  const counts = emptyCounts();
  const report = (outcome: SourceReport["outcome"], error: string | null): SourceReport => ({ source: source.name, kind: source.kind, outcome, error, counts });
  if (ctx.signal.aborted) return report("deferred", null);

  let reader: SourceReader;
  try {
    reader = readerFor(source, ctx.sources);
  } catch (error) {
    counts.errors += 1;
    const message = describe(error);
    await finishPoll(ctx.sql, source.id, { outcome: "error", error: message });
    return report("error", message);
  }

  const retry = ctx.retry ?? defaultRetryPolicy;
  const problems: string[] = [];
  let failure: string | null = null;
  let cursor = source.cursor;
  let more = false;
  for (let n = 0; n < reader.maxPages; n++) {
    let page: Page;
    try {
      page = await withRetry(() => reader.readPage(cursor, ctx.signal), {
        ...retry,
        signal: ctx.signal,
        deadlineMs: ctx.deadline,
        isRetryable,
        retryAfterMs: (error) => (error instanceof RateLimitedError ? error.retryAfterMs ?? undefined : undefined),
      });
    } catch (error) {
      // Out of time: the next poll reads on from the stored cursor.
      if (ctx.signal.aborted) {
        more = true;
        break;
      }
      counts.errors += 1;
      if (error instanceof ThrottledError) counts.throttled += 1;
      if (error instanceof SchemaError && error.parseFailures > 0) {
        // Nothing readable (a renamed field): the items are counted, the cursor stays before them.
        const result = await ingestCalls(ctx.sql, { sourceId: source.id, calls: [], unreadable: error.parseFailures });
        addIngested(counts, { calls: 0, unreadable: error.parseFailures, skipped: 0 }, result);
      }
      failure = describe(error);
      break;
    }
    let result: IngestResult;
    try {
      result = await ingestCalls(ctx.sql, {
        sourceId: source.id,
        calls: page.calls,
        cursor: page.cursor,
        expectedCursor: cursor,
        unreadable: page.unreadable,
      });
    } catch (error) {
      // Nothing of the page is stored and the cursor did not move: the next poll reads it again.
      counts.errors += 1;
      failure = `write failed: ${describe(error)}`;
      break;
    }
    counts.pages += 1;
    addIngested(counts, { calls: page.calls.length, unreadable: page.unreadable, skipped: page.skipped }, result);
    if (page.unreadable > 0) problems.push(`${page.unreadable} unreadable item(s); first: ${page.firstIssue}`);
    if (page.warning) problems.push(page.warning);
    // Another poller moved the cursor meanwhile: our rows merged in as duplicates, it reads on.
    if (result.cursorConflict) {
      more = false;
      break;
    }
    if (page.cursor !== null) cursor = page.cursor;
    more = page.more;
    if (!more || ctx.signal.aborted) break;
  }

  if (counts.pages === 0 && failure === null) return report("deferred", null);
  const outcome = failure !== null && counts.pages === 0 ? "error" : failure !== null || problems.length > 0 ? "partial" : "ok";
  const error = [failure, ...problems].filter((p): p is string => p !== null).join("; ") || null;
  await finishPoll(ctx.sql, source.id, { outcome, error, more });
  return report(outcome, error);
}

/**
 * Polls sources side by side, at most `concurrency` at a time. A source whose poll throws (the
 * database went away mid-poll) is reported as an error; the others carry on.
 */
export async function pollSources(ctx: PollContext, sources: readonly Source[], concurrency = 4): Promise<SourceReport[]> {
  const reports: SourceReport[] = new Array(sources.length);
  let next = 0;
  const worker = async () => {
    while (next < sources.length) {
      const index = next++;
      const source = sources[index]!;
      reports[index] = await pollSource(ctx, source).catch((error: unknown) => ({
        source: source.name,
        kind: source.kind,
        outcome: "error" as const,
        error: `poll failed: ${describe(error)}`,
        counts: { ...emptyCounts(), errors: 1 },
      }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, sources.length) }, worker));
  return reports;
}
