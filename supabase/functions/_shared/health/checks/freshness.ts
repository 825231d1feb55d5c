import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";

const freshnessRow = z.object({
  active_count: z.number(),
  stale_count: z.number(),
  fresh_percent: z.number(),
  oldest_expected_at: z.string().nullable(),
  figures_exact: z.boolean(),
});

const staleRow = z.object({ chain: z.string(), address: z.string(), symbol: z.string().nullable(), last_priced_at: z.string() });

/** Share of active tokens priced within their expected interval (cadence by age, plus a grace). */
export async function freshnessChecks(ctx: CheckContext): Promise<AreaResult> {
  const grace = ctx.config.freshGraceSeconds;
  // The fail line bounds how far an incident is counted (see freshness()).
  const failPercent = ctx.config.thresholds["tokens:freshPercent"]?.fail ?? 0;
  const [row] = await ctx.sql`select * from peakwatch.freshness(make_interval(secs => ${grace}), ${failPercent}::float8)`;
  const fresh = freshnessRow.parse(row);
  let offenders = "";
  if (fresh.stale_count > 0) {
    // The stalest first: the head of the same index the count walked.
    const stalest = z.array(staleRow).parse(
      await ctx.sql`
        select t.chain, t.address, t.symbol, t.last_priced_at from peakwatch.tokens t
        where t.status = 'active'
        order by peakwatch.price_expected_by(t.created_at, t.last_priced_at)
        limit 5`,
    );
    offenders = `; stalest: ${stalest.map((t) => `${t.symbol ?? "?"} ${t.chain}:${t.address} last priced ${isoTime(t.last_priced_at)}`).join(", ")}`;
  }
  const counts = `${fresh.stale_count} of ${fresh.active_count} active tokens overdue for a price by more than ${grace} s` +
    (fresh.figures_exact ? "" : " (estimated from the 1-in-64 sample, counted only as far as the fail line)");
  return { checks: [reading(ctx, "tokens:freshPercent", fresh.fresh_percent, counts + offenders)] };
}
