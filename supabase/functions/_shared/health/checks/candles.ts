import { z } from "zod";
import type { TradingCalendar } from "../../candles/calendar.ts";
import { calendarFor } from "../../candles/calendars.ts";
import { CME_GLOBEX } from "../../candles/cme-calendar.ts";
import { loadMarketHolidays } from "../../candles/sql/market-holidays.ts";
import { type Timeframe, timeframeMs, timeframeSchema } from "../../candles/timeframes.ts";
import { redactText } from "../../egress/redact.ts";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import type { HealthCheck } from "../types.ts";

/** Streams on other calendars than 24/7 read per evaluation at most: only those at least one bar behind on a 24/7 clock come back. */
const MAX_CANDIDATES = 2_000;
/** Lateness is counted up to this many bars (a stream stopped for a month is "≥ 1000 bars late"). */
const MAX_LATE_BARS = 1_000;

// A calendar's expected buckets are a subset of the 24/7 ones, so a stream that is not a full bar
// plus the grace behind on a 24/7 clock is not behind on any calendar: those never leave Postgres.
const candidateRow = z.object({
  id: z.number(),
  provider: z.string(),
  network: z.string().nullable(),
  symbol: z.string(),
  calendar: z.string(),
  timeframe: timeframeSchema,
  last_closed_bucket: z.string().nullable(),
  first_bucket: z.string(),
  last_error: z.string().nullable(),
});

const totalsRow = z.object({
  streams: z.number(),
  rows_last_hour: z.number(),
  rows_this_hour: z.number(),
  wanted_seconds: z.number(),
  held_seconds: z.number(),
  backfill_streams: z.number(),
  backfill_done: z.number(),
  backfill_wanted_seconds: z.number(),
  backfill_reached_seconds: z.number(),
  not_on_provider: z.number(),
  younger_than_depth: z.number(),
  provider_refused: z.number(),
  beyond_provider_window: z.number(),
  open_gaps: z.number(),
  open_gap_seconds: z.number(),
});

const alwaysRow = candidateRow.omit({ first_bucket: true }).extend({ late: z.number(), behind: z.number() });

type Candidate = Omit<z.infer<typeof candidateRow>, "first_bucket">;

const streamName = (s: Pick<Candidate, "id" | "provider" | "network" | "symbol" | "timeframe">) =>
  `${s.provider} ${s.network ? `${s.network}:` : ""}${s.symbol} ${s.timeframe} (stream ${s.id})`;

/**
 * Closed bars a stream is missing at `now`: buckets its calendar expects after its newest stored bar
 * that closed more than `graceMs` ago. null when the stream names a calendar this code does not know.
 */
export function lateBars(
  stream: { calendar: string; timeframe: Timeframe; lastClosedBucket: Date | null; firstBucket: Date },
  now: Date,
  graceMs: number,
  lookup: (name: string) => TradingCalendar = calendarFor,
): number | null {
  let calendar: TradingCalendar;
  try {
    calendar = lookup(stream.calendar);
  } catch {
    return null;
  }
  const size = timeframeMs(stream.timeframe);
  const next = stream.lastClosedBucket ? stream.lastClosedBucket.getTime() + size : stream.firstBucket.getTime();
  const cutoff = now.getTime() - size - graceMs;
  if (next > cutoff) return 0;
  const from = Math.max(next, cutoff - MAX_LATE_BARS * size);
  return Math.min(MAX_LATE_BARS, calendar.expectedBuckets(stream.timeframe, new Date(from), new Date(cutoff + 1)).length);
}

/**
 * Candle streams: `candles:lastBarAge` is the worst enabled stream's closed bars missing past the
 * grace (warn at one, fail at two), aware of each instrument's calendar so a closed market is not
 * late. Informational: coverage %, rows written in the last hour, streams behind, backfill progress.
 * Every figure comes from candle_streams (one row per stream) and the open-gap index, never from
 * candles, so the cost does not grow with history.
 */
export async function candleChecks(ctx: CheckContext): Promise<AreaResult> {
  const graceSeconds = ctx.config.candles.graceSeconds;
  const [alwaysWorst, candidates, [totals]] = await Promise.all([
    // 24/7 streams (every DEX pool): missing bars are arithmetic, counted here; only the worst comes back
    ctx.sql`
      with s as (
        select s.id, i.provider, i.network, i.symbol, i.calendar, s.timeframe, s.last_closed_bucket, s.last_error,
               peakwatch.candle_timeframe_interval(s.timeframe) as size,
               -- a new stream owes the first bar that starts after it was made: a pool born inside
               -- the bucket the stream was made in has no bar for it
               coalesce(s.last_closed_bucket, peakwatch.candle_bucket(s.timeframe, s.created_at)) + peakwatch.candle_timeframe_interval(s.timeframe) as next,
               now() - peakwatch.candle_timeframe_interval(s.timeframe) - make_interval(secs => ${graceSeconds}) as cutoff
        from peakwatch.candle_streams s
        join peakwatch.instruments i on i.id = s.instrument_id
        where s.enabled and i.enabled and s.coverage_reason is distinct from 'not_on_provider' and i.calendar = 'always'
      )
      select s.id, s.provider, s.network, s.symbol, s.calendar, s.timeframe, s.last_closed_bucket, s.last_error,
             least(${MAX_LATE_BARS}::int, floor(extract(epoch from s.cutoff - s.next) / extract(epoch from s.size)) + 1)::int as late,
             count(*) over ()::int as behind
      from s
      where s.next <= s.cutoff
      order by late desc, s.id
      limit 1`.then((rows) => z.array(alwaysRow).parse(rows)),
    // other calendars: those behind on a 24/7 clock are counted on their own calendar below
    ctx.sql`
      select s.id, i.provider, i.network, i.symbol, i.calendar, s.timeframe, s.last_closed_bucket, s.last_error,
             peakwatch.candle_bucket(s.timeframe, s.created_at) + peakwatch.candle_timeframe_interval(s.timeframe) as first_bucket
      from peakwatch.candle_streams s
      join peakwatch.instruments i on i.id = s.instrument_id
      where s.enabled and i.enabled and s.coverage_reason is distinct from 'not_on_provider' and i.calendar <> 'always'
        and coalesce(s.last_closed_bucket, peakwatch.candle_bucket(s.timeframe, s.created_at))
            + 2 * peakwatch.candle_timeframe_interval(s.timeframe) + make_interval(secs => ${graceSeconds}) <= now()
      order by coalesce(s.last_closed_bucket, s.created_at)
      limit ${MAX_CANDIDATES}`.then((rows) => z.array(candidateRow).parse(rows)),
    ctx.sql`
      with s as (
        select s.*, peakwatch.candle_timeframe_interval(s.timeframe) as size,
               peakwatch.candle_bucket(s.timeframe, now()) as newest,
               coalesce(s.backfill_cursor, peakwatch.candle_bucket(s.timeframe, s.created_at)) as held_from
        from peakwatch.candle_streams s
        join peakwatch.instruments i on i.id = s.instrument_id
        where s.enabled and i.enabled
      ), gaps as (
        select count(*)::int as open_gaps, coalesce(sum(extract(epoch from g.gap_to - g.gap_from)), 0)::float8 as open_gap_seconds
        from (select g.gap_from, g.gap_to from peakwatch.candle_gaps g where g.repaired_at is null limit 10000) g
      )
      select count(*)::int as streams,
        coalesce(sum(case when s.written_hour = date_trunc('hour', now()) then s.written_prev_hour
                          when s.written_hour = date_trunc('hour', now()) - interval '1 hour' then s.written_in_hour else 0 end), 0)::float8 as rows_last_hour,
        coalesce(sum(case when s.written_hour = date_trunc('hour', now()) then s.written_in_hour else 0 end), 0)::float8 as rows_this_hour,
        -- wanted: from the backfill target (or where history begins, once backfill says so) to now;
        -- held: from the oldest bucket reached to the end of the newest closed bar
        coalesce(sum(extract(epoch from s.newest - least(s.held_from,
          case when s.backfill_done_at is null then coalesce(s.backfill_target, s.held_from) else s.held_from end))), 0)::float8 as wanted_seconds,
        coalesce(sum(greatest(0, extract(epoch from least(s.newest, s.last_closed_bucket + s.size) - s.held_from))), 0)::float8 as held_seconds,
        count(*) filter (where s.backfill_target is not null)::int as backfill_streams,
        count(*) filter (where s.backfill_target is not null and s.backfill_done_at is not null)::int as backfill_done,
        coalesce(sum(extract(epoch from s.newest - s.backfill_target)) filter (where s.backfill_target < s.newest), 0)::float8 as backfill_wanted_seconds,
        coalesce(sum(case when s.backfill_done_at is not null then extract(epoch from s.newest - s.backfill_target)
                          else extract(epoch from s.newest - greatest(s.backfill_target, coalesce(s.backfill_cursor, s.newest))) end)
                 filter (where s.backfill_target < s.newest), 0)::float8 as backfill_reached_seconds,
        count(*) filter (where s.coverage_reason = 'not_on_provider')::int as not_on_provider,
        count(*) filter (where s.coverage_reason = 'younger_than_depth')::int as younger_than_depth,
        count(*) filter (where s.coverage_reason = 'provider_refused')::int as provider_refused,
        count(*) filter (where s.coverage_reason = 'beyond_provider_window')::int as beyond_provider_window,
        (select open_gaps from gaps) as open_gaps,
        (select open_gap_seconds from gaps) as open_gap_seconds
      from s`.then((rows) => [totalsRow.parse(rows[0])]),
  ]);
  const t = totals!;
  if (t.streams === 0) return { checks: [], notes: ["no candle stream is enabled: candle checks have nothing to read"] };

  const now = new Date(ctx.time);
  // Holidays and early closes are rows (peakwatch.market_holidays): read once, only when a futures stream is behind on a 24/7 clock.
  const holidays = candidates.some((c) => c.calendar === CME_GLOBEX) ? await loadMarketHolidays(ctx.sql, CME_GLOBEX) : [];
  const lookup = (name: string) => calendarFor(name, { holidays });
  const graded = candidates.map((c) => ({
    stream: c,
    late: lateBars(
      { calendar: c.calendar, timeframe: c.timeframe, lastClosedBucket: c.last_closed_bucket ? new Date(c.last_closed_bucket) : null, firstBucket: new Date(c.first_bucket) },
      now,
      graceSeconds * 1000,
      lookup,
    ),
  }));
  const behindElsewhere = graded.filter((g) => g.late === null || g.late > 0);
  const behind: Array<{ stream: Candidate; late: number | null }> = [...alwaysWorst.map((w) => ({ stream: w, late: w.late })), ...behindElsewhere];
  const behindCount = (alwaysWorst[0]?.behind ?? 0) + behindElsewhere.length;
  // Unknown calendar (null) ranks worst: nobody can say whether the stream is on time.
  const worst = behind.reduce<(typeof behind)[number] | undefined>((w, g) => (!w || (g.late ?? Infinity) > (w.late ?? Infinity) ? g : w), undefined);
  const checks: HealthCheck[] = [];
  if (!worst) {
    checks.push(reading(ctx, "candles:lastBarAge", 0, `all ${t.streams} enabled streams hold every closed bar older than ${graceSeconds} s`));
  } else {
    const s = worst.stream;
    const newest = s.last_closed_bucket ? `newest stored bar ${isoTime(s.last_closed_bucket)}` : "no bar stored yet";
    const error = s.last_error ? `; last error: ${redactText(s.last_error).slice(0, 300)}` : "";
    const lateText = worst.late === null ? `names unknown calendar "${s.calendar}"` : `${worst.late >= MAX_LATE_BARS ? "≥ " : ""}${worst.late} closed bars late`;
    checks.push(
      reading(ctx, "candles:lastBarAge", worst.late, `worst: ${streamName(s)} ${lateText}; ${newest}${error}; ${behindCount} of ${t.streams} streams behind`,
        worst.late === null ? { status: "fail" } : {}),
    );
  }
  const coverage = t.wanted_seconds > 0 ? (100 * Math.max(0, t.held_seconds - t.open_gap_seconds)) / t.wanted_seconds : 100;
  const backfill = t.backfill_wanted_seconds > 0 ? (100 * t.backfill_reached_seconds) / t.backfill_wanted_seconds : 100;
  const reasons = ([["not on provider", t.not_on_provider], ["younger than depth", t.younger_than_depth], ["provider refused", t.provider_refused], ["beyond provider window", t.beyond_provider_window]] as const)
    .filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`).join(", ");
  checks.push(
    reading(ctx, "candles:coveragePercent", Math.min(100, coverage),
      `history held over history wanted across ${t.streams} streams; ${t.open_gaps} open gaps (${Math.round(t.open_gap_seconds)} s)${reasons ? `; coverage reasons: ${reasons}` : ""}`),
    reading(ctx, "candles:rowsPerHour", t.rows_last_hour, `${t.rows_last_hour} rows written in the last hour, ${t.rows_this_hour} so far this hour (identical refetched rows are not written)`),
    reading(ctx, "candles:streamsBehind", behindCount,
      `${behindCount} of ${t.streams} streams miss a closed bar older than ${graceSeconds} s${candidates.length >= MAX_CANDIDATES ? ` (first ${MAX_CANDIDATES} examined)` : ""}`),
    reading(ctx, "candles:backfillPercent", Math.min(100, backfill), `${t.backfill_done} of ${t.backfill_streams} streams with a backfill target are done${reasons ? `; ${reasons}` : ""}`),
  );
  return { checks };
}
