import { z } from "zod";
import { type AreaResult, type CheckContext, isoTime, reading } from "../reading.ts";

const recentCallsRow = z.object({
  calls_ingested: z.number(),
  calls_priced: z.number(),
  tokens_called: z.number(),
  tokens_priced: z.number(),
  oldest_unpriced_at: z.string().nullable(),
  figures_exact: z.boolean(),
  copycats: z.array(z.object({ ticker: z.string(), tokens: z.number(), addresses: z.array(z.string()) })),
});

const totalsRow = z.object({
  runs: z.number(),
  error_runs: z.number(),
  totals: z.record(z.string(), z.number()),
  figures_exact: z.boolean(),
});

const TRACKER_COUNTS = ["parseFailures", "providerCalls", "dexscreenerCalls", "geckoterminalCalls"];

/**
 * The calls of the last hour, read once for two checks: stage conversion (of the calls ingested
 * over the window, minus a settle period, the share whose token has been priced since — inputs
 * with no outputs fails) and copycats (a ticker called for several addresses). Beside them, the
 * provider items that failed their schema in the tracker's runs (drift).
 */
export async function pipelineChecks(ctx: CheckContext): Promise<AreaResult> {
  const { conversion, copycats } = ctx.config;
  // One scan serves both windows; conversion keeps only its own calls.
  const scanSeconds = Math.max(conversion.windowSeconds, copycats.windowSeconds);
  const [callRows, totalsRows] = await Promise.all([
    ctx.sql`
      select * from peakwatch.recent_calls(make_interval(secs => ${scanSeconds}), make_interval(secs => ${conversion.settleSeconds}), ${copycats.minTokens}::int)`,
    ctx.sql`select * from peakwatch.run_totals('tracker', make_interval(secs => ${ctx.config.parseWindowSeconds}), ${TRACKER_COUNTS}::text[])`,
  ]);
  const calls = recentCallsRow.parse(callRows[0]);
  const totals = totalsRow.parse(totalsRows[0]);
  const minutes = (s: number) => Math.round(s / 60);

  const percent = calls.calls_ingested === 0 ? null : (100 * calls.calls_priced) / calls.calls_ingested;
  const tooFew = calls.calls_ingested < conversion.minCalls;
  const conversionText =
    `${calls.calls_priced} of ${calls.calls_ingested} calls ingested ${minutes(scanSeconds)}–${minutes(conversion.settleSeconds)} min ago ` +
    `have their token priced since (${calls.tokens_priced} of ${calls.tokens_called} tokens)` +
    (calls.oldest_unpriced_at ? `; oldest unpriced call ingested at ${isoTime(calls.oldest_unpriced_at)}` : "") +
    (tooFew ? `; fewer than ${conversion.minCalls} calls, not graded` : "") +
    (calls.figures_exact ? "" : "; from the newest 300 settled of the newest 2,000 calls");

  const worst = calls.copycats.slice(0, 5).map((c) => `${c.ticker} ×${c.tokens} (${c.addresses.slice(0, 3).join(", ")}${c.tokens > 3 ? ", …" : ""})`);
  const copycatText = calls.copycats.length === 0
    ? `no ticker called for ${copycats.minTokens}+ addresses in the last ${minutes(scanSeconds)} min`
    : `${calls.copycats.length} ticker(s) called for ${copycats.minTokens}+ addresses in the last ${minutes(scanSeconds)} min: ${worst.join("; ")}`;

  const parseFailures = totals.totals.parseFailures ?? 0;
  const parseText = `${parseFailures} provider items failed their schema in ${totals.runs} tracker runs over the last ` +
    `${minutes(ctx.config.parseWindowSeconds)} min (${totals.totals.providerCalls ?? 0} provider calls: ` +
    `${totals.totals.dexscreenerCalls ?? 0} DexScreener, ${totals.totals.geckoterminalCalls ?? 0} GeckoTerminal)`;

  return {
    checks: [
      reading(ctx, "pipeline:callConversion", percent, conversionText, tooFew ? { status: "pass" } : {}),
      reading(ctx, "calls:copycatTickers", calls.copycats.length, copycatText),
      reading(ctx, "providers:parseFailures", parseFailures, parseText, { componentId: "tracker" }),
    ],
  };
}
