import type { Sql } from "../db/client.ts";
import { sleep } from "../limits/sleep.ts";
import type { TradingCalendar } from "./calendar.ts";
import { bucketsIn, missingRanges } from "./gaps.ts";
import type { Bar, BarPage, BarRequest, CandleProvider, CoverageReason } from "./provider.ts";
import { candleBuckets } from "./sql/buckets.ts";
import { type CandleProviderName, claimCandleStreams, type ClaimedStream } from "./sql/claim.ts";
import { completeCandleStream } from "./sql/complete.ts";
import { failCandleStream } from "./sql/fail.ts";
import { nextCandleGap, recordCandleGaps, resolveCandleGap } from "./sql/gaps.ts";
import { releaseCandleStream } from "./sql/release.ts";
import { upsertCandles } from "./sql/upsert.ts";
import { bucketStart, isClosed, timeframeMs } from "./timeframes.ts";

/** One provider, twice: each instance spends its own share of the provider's budget. */
export interface ProviderLanes {
  incremental: CandleProvider;
  backfill: CandleProvider;
}

export interface CollectSettings {
  /** Streams leased per claim; one step each, one at a time. */
  batchSize: number;
  leaseSeconds: number;
  /** Bars fetched for a stream that has none yet; backfill reaches further. */
  initialBars: number;
  /** Attempts after which an open gap is left for a person (the provider does not have it). */
  maxGapAttempts: number;
  /** Wait after a bar closes before asking for it (providers publish a little late). */
  closeDelayMs: number;
  /** Per-page bar cap (GeckoTerminal: 1000). */
  pageBars: number;
  /** Empty claims are retried this often while time is left. */
  idlePollMs: number;
}

export const defaultCollectSettings: CollectSettings = {
  batchSize: 10,
  leaseSeconds: 120,
  initialBars: 120,
  maxGapAttempts: 20,
  closeDelayMs: 3_000,
  pageBars: 1000,
  idlePollMs: 500,
};

export interface CollectOptions {
  sql: Sql;
  owner: string;
  providers: Partial<Record<CandleProviderName, ProviderLanes>>;
  calendarFor(name: string): TradingCalendar | null;
  timeBudgetMs: number;
  maxSteps?: number;
  signal: AbortSignal;
  settings?: Partial<CollectSettings>;
  now?: () => number;
}

export type CollectStats = Record<string, number>;

const bump = (stats: CollectStats, key: string, by = 1) => {
  if (by !== 0) stats[key] = (stats[key] ?? 0) + by;
};

/**
 * Claims due streams and gives each one step: the newest bars when one has closed (refetching the
 * last closed bar and the forming one), else the repair of its newest open gap, else one page of
 * backfill. Every step ends its lease (complete, fail or release), so a crash loses one step at most
 * and the expired lease makes the stream due again.
 */
export async function runCandles(options: CollectOptions): Promise<CollectStats> {
  const settings = { ...defaultCollectSettings, ...options.settings };
  const now = options.now ?? Date.now;
  const deadline = Date.now() + options.timeBudgetMs;
  const stats: CollectStats = { claimed: 0, steps: 0, calls: 0, failed: 0 };
  const providers = Object.keys(options.providers) as CandleProviderName[];

  while (Date.now() < deadline && !options.signal.aborted && (options.maxSteps === undefined || stats.steps! < options.maxSteps)) {
    let claimedAny = false;
    for (const provider of providers) {
      const limit = Math.min(settings.batchSize, (options.maxSteps ?? Number.POSITIVE_INFINITY) - stats.steps!);
      if (limit <= 0) break;
      const streams = await claimCandleStreams(options.sql, { provider, limit, leaseSeconds: settings.leaseSeconds, owner: options.owner });
      bump(stats, "claimed", streams.length);
      claimedAny ||= streams.length > 0;
      for (const [i, stream] of streams.entries()) {
        if (Date.now() >= deadline || options.signal.aborted) {
          // Handed back untouched: due again at once for the next run.
          for (const rest of streams.slice(i)) await releaseCandleStream(options.sql, rest.streamId, options.owner, new Date(now()));
          bump(stats, "released", streams.length - i);
          break;
        }
        await step({ ...options, settings, now, stats, lanes: options.providers[provider]! }, stream);
        bump(stats, "steps");
      }
    }
    if (!claimedAny) {
      const left = deadline - Date.now();
      if (left <= settings.idlePollMs) break;
      await sleep(settings.idlePollMs, options.signal).catch(() => {});
    }
  }
  return stats;
}

interface StepContext extends CollectOptions {
  settings: CollectSettings;
  now: () => number;
  stats: CollectStats;
  lanes: ProviderLanes;
}

async function step(ctx: StepContext, stream: ClaimedStream): Promise<void> {
  const calendar = ctx.calendarFor(stream.calendar);
  if (!calendar) {
    bump(ctx.stats, "failed");
    bump(ctx.stats, "failed.calendar");
    await failCandleStream(ctx.sql, stream.streamId, `unknown calendar ${stream.calendar}`, new Date(ctx.now() + 3_600_000), ctx.owner);
    return;
  }
  const now = new Date(ctx.now());
  const closed = calendar.lastClosedBucket(stream.timeframe, now);
  if (closed && (stream.lastClosedBucket === null || stream.lastClosedBucket < closed)) return incremental(ctx, stream, calendar, now, closed);
  const gap = await nextCandleGap(ctx.sql, stream.streamId, ctx.settings.maxGapAttempts);
  if (gap) return repairGap(ctx, stream, calendar, now, gap);
  if (backfillPending(stream)) return backfillPage(ctx, stream, calendar, now);
  bump(ctx.stats, "idle");
  // A backfill whose cursor already reached its target (the first fetch went deep enough) is done.
  const reached = stream.backfillTarget !== null && stream.backfillDoneAt === null && stream.backfillCursor !== null && stream.backfillCursor <= stream.backfillTarget;
  await completeCandleStream(ctx.sql, stream.streamId, progress(ctx, stream, now, { done: reached }));
}

const backfillPending = (stream: ClaimedStream) =>
  stream.backfillTarget !== null && stream.backfillDoneAt === null && stream.backfillCursor !== null && stream.backfillCursor > stream.backfillTarget;

/** When the stream is due next: at once while it has catching up to do, else just after its forming bar closes. */
function nextDue(ctx: StepContext, stream: ClaimedStream, now: Date, busy: boolean): Date {
  if (busy) return now;
  const size = timeframeMs(stream.timeframe);
  return new Date(bucketStart(stream.timeframe, now).getTime() + size + ctx.settings.closeDelayMs);
}

function progress(
  ctx: StepContext,
  stream: ClaimedStream,
  now: Date,
  change: { lastClosed?: Date | null; cursor?: Date | null; done?: boolean; coverage?: CoverageReason | null; busy?: boolean },
) {
  return {
    lastClosedBucket: change.lastClosed ?? null,
    backfillCursor: change.cursor ?? null,
    backfillDone: change.done ?? false,
    coverageReason: change.coverage ?? null,
    nextDueAt: nextDue(ctx, stream, now, change.busy ?? false),
    owner: ctx.owner,
  };
}

async function fetchPage(ctx: StepContext, provider: CandleProvider, stream: ClaimedStream, from: Date | null, to: Date): Promise<BarPage> {
  const request: BarRequest = {
    streamId: stream.streamId,
    symbol: stream.symbol,
    network: stream.network,
    tokenSide: stream.tokenSide,
    timeframe: stream.timeframe,
    from,
    to,
    limit: ctx.settings.pageBars,
  };
  const [page] = await provider.fetchBars([request], ctx.signal);
  if (page?.ok !== false || page.kind !== "budget") bump(ctx.stats, "calls");
  return page!;
}

/** A failed page: our budget → handed back; a refusal about the instrument → recorded coverage; else a counted failure with backoff. */
async function failed(ctx: StepContext, stream: ClaimedStream, page: Extract<BarPage, { ok: false }>, now: Date): Promise<void> {
  if (page.kind === "budget") {
    bump(ctx.stats, "budgetWaits");
    await releaseCandleStream(ctx.sql, stream.streamId, ctx.owner, new Date(now.getTime() + 2_000));
    return;
  }
  bump(ctx.stats, "failed");
  bump(ctx.stats, `failed.${page.kind}`);
  const backoffMs = Math.min(900_000, 15_000 * 2 ** Math.min(stream.attempts, 6));
  const retryAt = new Date(now.getTime() + (page.coverage ? 3_600_000 : backoffMs));
  if (page.coverage) {
    await completeCandleStream(ctx.sql, stream.streamId, { ...progress(ctx, stream, now, { done: true, coverage: page.coverage }), nextDueAt: retryAt });
    await failCandleStream(ctx.sql, stream.streamId, `${page.kind}: ${page.message}`, retryAt);
    return;
  }
  await failCandleStream(ctx.sql, stream.streamId, `${page.kind}: ${page.message}`, retryAt, ctx.owner);
}

async function write(ctx: StepContext, stream: ClaimedStream, bars: readonly Bar[]): Promise<void> {
  if (bars.length === 0) return;
  const counts = await upsertCandles(ctx.sql, stream.streamId, bars, stream.provider);
  bump(ctx.stats, "bars", bars.length);
  for (const [key, value] of Object.entries(counts)) bump(ctx.stats, key, Number(value));
}

/** Records the missing ranges of [from, to) (expected by the calendar, not stored); returns how many buckets are missing. */
async function scanGaps(ctx: StepContext, stream: ClaimedStream, calendar: TradingCalendar, from: Date, to: Date, reason: string): Promise<number> {
  if (to <= from) return 0;
  const size = timeframeMs(stream.timeframe);
  const start = new Date(Math.max(from.getTime(), to.getTime() - 50_000 * size));
  const ranges = missingRanges(calendar, stream.timeframe, start, to, await candleBuckets(ctx.sql, stream.streamId, start, to));
  bump(ctx.stats, "gapsFound", await recordCandleGaps(ctx.sql, stream.streamId, ranges, reason));
  return bucketsIn(ranges, stream.timeframe);
}

async function incremental(ctx: StepContext, stream: ClaimedStream, calendar: TradingCalendar, now: Date, closed: Date): Promise<void> {
  const size = timeframeMs(stream.timeframe);
  const to = new Date(bucketStart(stream.timeframe, now).getTime() + size);
  // A new stream that will backfill anyway takes a whole page at once: the call costs the same.
  const initialBars = stream.backfillTarget !== null && stream.backfillDoneAt === null ? ctx.settings.pageBars : ctx.settings.initialBars;
  const from = stream.lastClosedBucket ??
    new Date(Math.max(closed.getTime() - (initialBars - 1) * size, stream.backfillTarget?.getTime() ?? Number.NEGATIVE_INFINITY));
  // An outage longer than one page: the newest page now, the rest recorded as a gap and repaired after.
  const windowFrom = new Date(Math.max(from.getTime(), to.getTime() - ctx.settings.pageBars * size));
  const page = await fetchPage(ctx, ctx.lanes.incremental, stream, windowFrom, to);
  if (!page.ok) return failed(ctx, stream, page, now);
  bump(ctx.stats, "incremental");
  await write(ctx, stream, page.bars);

  const closedBars = page.bars.filter((bar) => isClosed(stream.timeframe, bar.bucket, now));
  const newest = closedBars.at(-1)?.bucket ?? null;
  const lastClosed = newest && (!stream.lastClosedBucket || newest > stream.lastClosedBucket) ? newest : stream.lastClosedBucket;
  const scanFrom = stream.lastClosedBucket ?? closedBars[0]?.bucket ?? null;
  let missing = 0;
  if (scanFrom && lastClosed) missing = await scanGaps(ctx, stream, calendar, scanFrom, new Date(lastClosed.getTime() + size), "missing_from_answer");

  // The first fetch starts the backfill cursor at the oldest bar it got.
  const first = stream.backfillCursor === null ? (closedBars[0]?.bucket ?? null) : null;
  const youngPool = first !== null && page.reachedStart && stream.backfillTarget !== null && first > stream.backfillTarget;
  const deepEnough = first !== null && stream.backfillTarget !== null && first <= stream.backfillTarget;
  const pending = (stream.backfillTarget !== null && stream.backfillDoneAt === null && !youngPool && !deepEnough && (first ?? stream.backfillCursor) !== null) || missing > 0;
  await completeCandleStream(
    ctx.sql,
    stream.streamId,
    progress(ctx, stream, now, { lastClosed, cursor: first, done: youngPool || deepEnough, coverage: youngPool ? "younger_than_depth" : null, busy: pending }),
  );
}

async function repairGap(
  ctx: StepContext,
  stream: ClaimedStream,
  calendar: TradingCalendar,
  now: Date,
  gap: { gapId: number; from: Date; to: Date },
): Promise<void> {
  const size = timeframeMs(stream.timeframe);
  const from = new Date(Math.max(gap.from.getTime(), gap.to.getTime() - ctx.settings.pageBars * size));
  const page = await fetchPage(ctx, ctx.lanes.incremental, stream, from, gap.to);
  if (!page.ok) return failed(ctx, stream, page, now);
  bump(ctx.stats, "gapRepairs");
  await write(ctx, stream, page.bars);
  const stored = await candleBuckets(ctx.sql, stream.streamId, gap.from, gap.to);
  const still = missingRanges(calendar, stream.timeframe, gap.from, gap.to, stored);
  const repaired = await resolveCandleGap(
    ctx.sql,
    gap.gapId,
    still.length === 0 ? null : { from: still[0]!.from, to: still.at(-1)!.to },
    still.length === 0 ? "repaired" : "still_missing",
  );
  if (repaired) bump(ctx.stats, "gapsRepaired");
  // Straight on while it makes progress; a gap the provider still lacks waits for the next bar.
  const progressed = still.length === 0 || still.at(-1)!.to <= from;
  await completeCandleStream(ctx.sql, stream.streamId, progress(ctx, stream, now, { busy: progressed }));
}

async function backfillPage(ctx: StepContext, stream: ClaimedStream, calendar: TradingCalendar, now: Date): Promise<void> {
  const size = timeframeMs(stream.timeframe);
  const target = stream.backfillTarget!;
  const to = stream.backfillCursor!;
  const from = new Date(Math.max(target.getTime(), to.getTime() - ctx.settings.pageBars * size));
  const page = await fetchPage(ctx, ctx.lanes.backfill, stream, from, to);
  if (!page.ok) return failed(ctx, stream, page, now);
  bump(ctx.stats, "backfillPages");
  await write(ctx, stream, page.bars);
  const oldest = page.bars[0]?.bucket ?? null;
  const cursor = page.reachedStart ? (oldest ?? to) : from;
  if (oldest) await scanGaps(ctx, stream, calendar, oldest, to, "missing_from_backfill");
  const done = cursor <= target || page.reachedStart;
  const coverage: CoverageReason | null = page.coverage ?? (page.reachedStart && cursor > target ? "younger_than_depth" : null);
  // The cursor is the checkpoint: the page is written first, so a kill between the two refetches one page.
  await completeCandleStream(ctx.sql, stream.streamId, progress(ctx, stream, now, { cursor, done, coverage, busy: !done }));
}
