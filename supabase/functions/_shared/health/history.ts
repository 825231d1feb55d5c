import { z } from "zod";
import type { Sql } from "../db/client.ts";
import type { Threshold } from "./thresholds.ts";

export interface LagPoint {
  /** Bucket end, epoch ms. */
  t: number;
  /** Worst lag within the bucket, seconds. */
  v: number;
}

export interface LagSeries {
  key: string;
  label: string;
  points: LagPoint[];
}

export interface LagHistory {
  from: number;
  to: number;
  series: LagSeries[];
  /** Limits of the tracker series, drawn as lines. */
  threshold: Threshold;
}

/** The orchestrator records this count on every run (evaluateAndNotify's counts). */
export const OVERDUE_P95_COUNT = "healthOverdueP95Seconds";

const BUCKETS = 120;
const times = z.array(z.object({ t: z.number() }));
const samples = z.array(z.object({ t: z.number(), v: z.number() }));

/**
 * The worst "seconds since the tracker last succeeded" per bucket: between two successful runs
 * the lag grows from 0 to the gap, so a bucket's worst is its largest gap or its open end.
 */
export function trackerLagBuckets(finishes: readonly number[], before: number | null, from: number, to: number, buckets = BUCKETS): LagPoint[] {
  const sorted = [...finishes].sort((a, b) => a - b);
  const width = (to - from) / buckets;
  const points: LagPoint[] = [];
  let previous = before;
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    const end = from + width * (b + 1);
    let worst: number | null = null;
    while (i < sorted.length && sorted[i]! <= end) {
      if (previous !== null) worst = Math.max(worst ?? 0, sorted[i]! - previous);
      previous = sorted[i]!;
      i++;
    }
    if (previous !== null) worst = Math.max(worst ?? 0, end - previous);
    if (worst !== null) points.push({ t: end, v: worst / 1000 });
  }
  return points;
}

function bucketMax(values: readonly LagPoint[], from: number, to: number, buckets = BUCKETS): LagPoint[] {
  const width = (to - from) / buckets;
  const worst = new Map<number, number>();
  for (const { t, v } of values) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((t - from) / width)));
    worst.set(b, Math.max(worst.get(b) ?? 0, v));
  }
  return [...worst].sort(([a], [b]) => a - b).map(([b, v]) => ({ t: from + width * (b + 1), v }));
}

/**
 * Lag over the last `hours` from the runs table: the tracker's time since success (index range on
 * runs_last_success_idx) and, when the orchestrator records it, the queue's overdue p95.
 */
export async function readLagHistory(sql: Sql, hours: number, threshold: Threshold): Promise<LagHistory> {
  const to = Date.now();
  const from = to - hours * 3_600_000;
  const since = new Date(from).toISOString();
  const [finishes, [before], overdue] = await Promise.all([
    sql`
      select extract(epoch from r.finished_at)::float8 * 1000 as t from peakwatch.runs r
      where r.function_name = 'tracker' and r.outcome in ('ok', 'partial') and r.finished_at >= ${since}
      order by r.finished_at desc
      limit 5000`.then((rows) => times.parse(rows)),
    sql`
      select extract(epoch from max(r.finished_at))::float8 * 1000 as t from peakwatch.runs r
      where r.function_name = 'tracker' and r.outcome in ('ok', 'partial') and r.finished_at < ${since}`.then((rows) =>
        z.array(z.object({ t: z.number().nullable() })).parse(rows)
      ),
    sql`
      select extract(epoch from r.started_at)::float8 * 1000 as t, (r.counts->>${OVERDUE_P95_COUNT})::float8 as v
      from peakwatch.runs r
      where r.function_name = 'orchestrator' and r.started_at >= ${since} and r.counts ? ${OVERDUE_P95_COUNT}
      order by r.started_at desc
      limit 2000`.then((rows) => samples.parse(rows)),
  ]);
  const series: LagSeries[] = [
    { key: "tracker", label: "seconds since the tracker last succeeded", points: trackerLagBuckets(finishes.map((f) => f.t), before?.t ?? null, from, to) },
  ];
  if (overdue.length > 0) series.push({ key: "overdue", label: "queue overdue p95 (s)", points: bucketMax(overdue, from, to) });
  return { from, to, series, threshold };
}
