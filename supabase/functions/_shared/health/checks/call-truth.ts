import { z } from "zod";
import { type AreaResult, type CheckContext, reading } from "../reading.ts";

const row = z.object({
  verified_24h: z.number(),
  corrected_24h: z.number(),
  young_overdue_s: z.number().nullable(),
  young_due: z.number(),
  backlog: z.number(),
  stalled_s: z.number().nullable(),
});

/**
 * Candle verification of calls. Graded: whether verification makes progress at all while young
 * calls wait (a stopped verifier or a broken provider). Shown: how late the oldest young call's
 * verification is (the 15-minute promise holds while the budget's share can read every young
 * token that often), and how many of the last day's verifications moved an ATH by more than 1 %.
 */
export async function callTruthChecks(ctx: CheckContext): Promise<AreaResult> {
  const [raw] = await ctx.sql`
    select
      (select count(*) from peakwatch.call_verifications v where v.verified_at > now() - interval '24 hours')::int as verified_24h,
      (select count(*) from peakwatch.call_verifications v
        where v.verified_at > now() - interval '24 hours' and abs(v.correction_pct) > 1)::int as corrected_24h,
      (select extract(epoch from now() - min(v.due_at))::float8 from peakwatch.call_verifications v
        where v.called_at > now() - peakwatch.young_call_age() and v.due_at <= now()) as young_overdue_s,
      (select count(*) from peakwatch.call_verifications v
        where v.called_at > now() - peakwatch.young_call_age() and v.due_at <= now())::int as young_due,
      (select count(*) from (select 1 from peakwatch.call_verifications v
        where v.called_at <= now() - peakwatch.young_call_age() and v.verified_at is null limit 100000) b)::int as backlog,
      -- how long verification has made no progress while young calls wait for it (0 when none waits)
      (select case when min(v.due_at) is null then 0
                   else extract(epoch from now() - greatest(min(v.due_at),
                          (select max(w.verified_at) from peakwatch.call_verifications w where w.verified_at is not null)))::float8 end
         from peakwatch.call_verifications v
        where v.called_at > now() - peakwatch.young_call_age() and v.due_at <= now()) as stalled_s`;
  const r = row.parse(raw);
  const share = r.verified_24h === 0 ? null : Math.round((10_000 * r.corrected_24h) / r.verified_24h) / 100;
  const overdue = r.young_overdue_s === null ? 0 : Math.round(r.young_overdue_s);
  const stalled = Math.max(0, Math.round(r.stalled_s ?? 0));
  return {
    checks: [
      reading(ctx, "calls:athCorrected", share,
        r.verified_24h === 0
          ? "no call verified against candles in the last 24 h"
          : `${r.corrected_24h} of ${r.verified_24h} calls verified in the last 24 h had their ATH moved more than 1 % by candles`,
        r.verified_24h === 0 ? { status: "pass" } : {}),
      reading(ctx, "calls:verificationLag", overdue,
        `${r.young_due} call(s) under 24 h old due for candle verification, the oldest ${overdue} s overdue; ` +
          `${r.backlog} older call(s) never verified yet (drained in the background); ` +
          `the budget, not a fault, sets this when more young tokens wait than GeckoTerminal's share can read`),
      reading(ctx, "calls:verificationStalled", stalled,
        stalled === 0
          ? "call verification is keeping up or making progress"
          : `no call verified for ${stalled} s while ${r.young_due} young call(s) wait: the verifier or GeckoTerminal is not working`),
    ],
  };
}
