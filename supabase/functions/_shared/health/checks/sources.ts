import { redactText } from "../../egress/redact.ts";
import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";
import type { HealthCheck } from "../types.ts";

const sourceRow = z.object({
  name: z.string(),
  poll_interval_seconds: z.number(),
  last_success_at: z.string().nullable(),
  last_error: z.string().nullable(),
  age_seconds: z.number(),
});

// health_source_flow(): per enabled source, the poller's counters summed over the last hour.
const flowRow = z.object({
  name: z.string(),
  polls_last_hour: z.number(),
  errors_last_hour: z.number(),
  fetched_last_hour: z.number(),
  calls_last_hour: z.number(),
  rejected_last_hour: z.number(),
  last_error: z.string().nullable(),
});

// Per enabled feed: failed polls since its last success, and its declared floor against its window.
const counterRow = z.object({
  name: z.string(),
  expected_min_calls: z.number().nullable(),
  expected_window_minutes: z.number(),
  successful_polls: z.number(),
  new_calls: z.number(),
  errors_since_success: z.number(),
  /** Successful polls in the window after the last minute that brought a new call. */
  empty_polls: z.number(),
  poll_interval_seconds: z.number(),
  graded: z.boolean(),
});

/** A floor's evidence of silence: this many calls expected and none came. */
const QUIET_EVIDENCE_CALLS = 3;

/**
 * Successful polls in a row with no new call that make a source silent before its window says so:
 * as many as should have brought QUIET_EVIDENCE_CALLS calls at the declared floor (at least one).
 * A feed expecting 40 calls per 5 minutes, polled every minute, is silent after one empty poll; one
 * expecting 2 an hour would need 90, so its window decides first.
 */
export function quietPollsNeeded(minCalls: number, windowMinutes: number, pollIntervalSeconds: number): number {
  const perPoll = (minCalls * pollIntervalSeconds) / (windowMinutes * 60);
  return Math.max(1, Math.ceil(QUIET_EVIDENCE_CALLS / perPoll));
}

// Rows written before redaction existed may still hold a full URL: cut it on the way out too.
const clip = (text: string | null) => (text ? `; last error: ${redactText(text).slice(0, 300)}` : "");

/**
 * Per enabled feed source: time since its last successful poll, graded in multiples of its poll
 * interval; and, once the poller's counters exist, rejected (unparseable) calls over the last hour
 * (informational) and failed polls since its last successful poll — the drift and outage signals.
 */
export async function sourceChecks(ctx: CheckContext): Promise<AreaResult> {
  const [sources, flowRows, counterRows] = await Promise.all([
    ctx.sql`
      select s.name, s.poll_interval_seconds, s.last_success_at, s.last_error,
             extract(epoch from now() - coalesce(s.last_success_at, s.created_at))::float8 as age_seconds
      from peakwatch.sources s
      where s.enabled and s.kind <> 'manual'
      order by s.name`.then((rows) => z.array(sourceRow).parse(rows)),
    ctx.sql<{ flow: unknown }[]>`select peakwatch.health_source_flow() as flow`,
    // One pass over each source's counter rows (by primary key, at most its window or the last hour):
    // failed polls since its last successful poll (an outage it has recovered from is history, not an
    // alarm) and, for sources that declare a floor, successful polls and new calls over their window.
    ctx.sql`
      select s.name, s.expected_min_calls, s.expected_window_minutes,
             coalesce(sum(c.polls - c.errors) filter (where c.minute > now() - make_interval(mins => s.expected_window_minutes)), 0)::int as successful_polls,
             coalesce(sum(c.new_calls) filter (where c.minute > now() - make_interval(mins => s.expected_window_minutes)), 0)::int as new_calls,
             coalesce(sum(c.errors) filter (where c.minute > now() - interval '1 hour'
               and c.minute >= date_trunc('minute', coalesce(s.last_success_at, '-infinity'::timestamptz))), 0)::int as errors_since_success,
             coalesce(sum(c.polls - c.errors) filter (where c.minute > now() - make_interval(mins => s.expected_window_minutes)
               and c.minute > coalesce(q.last_new_minute, '-infinity'::timestamptz)), 0)::int as empty_polls,
             s.poll_interval_seconds,
             s.created_at < now() - make_interval(mins => s.expected_window_minutes) as graded
      from peakwatch.sources s
      left join peakwatch.source_counters c
        on c.source_id = s.id and c.minute > now() - make_interval(mins => greatest(s.expected_window_minutes, 60))
      -- the newest minute that brought a new call (only for sources that declare a floor)
      left join lateral (
        select max(n.minute) as last_new_minute from peakwatch.source_counters n
        where s.expected_min_calls is not null and n.source_id = s.id and n.new_calls > 0
          and n.minute > now() - make_interval(mins => s.expected_window_minutes)
      ) q on true
      where s.enabled and s.kind <> 'manual'
      group by s.id, q.last_new_minute
      order by s.name`.then((rows) => z.array(counterRow).parse(rows)),
  ]);
  const flow = flowRows[0]?.flow ?? null;
  const errorsSinceSuccess = new Map(counterRows.map((r) => [r.name, r.errors_since_success]));
  const notes: string[] = [];
  if (sources.length === 0) notes.push("no feed source is enabled: source checks have nothing to read");
  const checks: HealthCheck[] = sources.map((s) =>
    reading(
      ctx,
      "sources:lastSuccessAge",
      Math.max(0, s.age_seconds),
      (s.last_success_at ? `last successful poll at ${isoTime(s.last_success_at)}` : "never polled successfully") +
        `; polled every ${s.poll_interval_seconds} s${clip(s.last_error)}`,
      { componentId: s.name, gradedValue: Math.max(0, s.age_seconds) / s.poll_interval_seconds },
    )
  );

  if (flow === null) {
    notes.push("sources:rejectedCalls and sources:pollErrors skipped: the poller's counters are not installed");
  } else if (sources.length > 0) {
    for (const f of z.array(flowRow).parse(flow)) {
      const inputs = `${f.fetched_last_hour} items fetched in ${f.polls_last_hour} polls over the last hour, ${f.calls_last_hour} new calls`;
      checks.push(
        reading(ctx, "sources:rejectedCalls", f.rejected_last_hour, `${f.rejected_last_hour} items rejected; ${inputs}${clip(f.last_error)}`, {
          componentId: f.name,
        }),
        reading(
          ctx,
          "sources:pollErrors",
          errorsSinceSuccess.get(f.name) ?? 0,
          `${errorsSinceSuccess.get(f.name) ?? 0} failed polls since the last successful one (${f.errors_last_hour} in the last hour); ${inputs}${clip(f.last_error)}`,
          { componentId: f.name },
        ),
      );
    }
  }
  for (const r of counterRows) {
    if (r.expected_min_calls === null) continue;
    const window = `${r.expected_window_minutes} min`;
    const below = r.graded && r.successful_polls > 0 && r.new_calls < r.expected_min_calls;
    // A source that declared a brisk floor and now answers empty pages is silent long before its
    // window has drained; the first poll that brings calls again clears it.
    const quietNeeded = quietPollsNeeded(r.expected_min_calls, r.expected_window_minutes, r.poll_interval_seconds);
    const quiet = r.graded && r.empty_polls >= quietNeeded;
    const silent = below || quiet;
    const quietText = quiet ? `; its last ${r.empty_polls} successful polls brought no new call` : "";
    checks.push(
      reading(
        ctx,
        "sources:newCallRate",
        r.new_calls,
        silent
          ? `${r.new_calls} new calls in ${window} from ${r.successful_polls} successful polls` +
            (below ? `, fewer than the ${r.expected_min_calls} expected` : ` (expected at least ${r.expected_min_calls})`) +
            `${quietText}: empty pages or a filter grown too strict?`
          : `${r.new_calls} new calls in ${window} (expected at least ${r.expected_min_calls})${r.successful_polls === 0 ? "; no successful poll in the window (see sources:lastSuccessAge)" : ""}`,
        { componentId: r.name, status: silent ? "warn" : "pass" },
      ),
    );
  }
  return { checks, notes };
}
