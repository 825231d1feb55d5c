import { z } from "zod";
import type { ProviderName } from "../../providers/types.ts";
import { yieldKeys } from "../../tracker/provider-yield.ts";
import { type AreaResult, type CheckContext, reading } from "../reading.ts";

/** Short on purpose: a collapse must be non-pass within 2 minutes of its first tracker run. */
export const YIELD_WINDOW_SECONDS = 120;
/** Below this many asked-and-priced-before addresses a yield is shown but not graded. */
export const YIELD_MIN_ASKED = 20;
const PROVIDERS: readonly ProviderName[] = ["dexscreener", "geckoterminal"];

const totalsRow = z.object({ runs: z.number(), totals: z.record(z.string(), z.number()), figures_exact: z.boolean() });

/**
 * Per provider, the share of asked addresses it priced, over addresses it has priced before (so
 * never-listed tokens do not lower it), from the tracker runs of the last two minutes. A renamed
 * optional field makes every pair unpriceable with no parse failure: only this reading shows it.
 */
export async function providerYieldChecks(ctx: CheckContext): Promise<AreaResult> {
  const keys = PROVIDERS.flatMap((provider) => Object.values(yieldKeys(provider)));
  const rows = await ctx.sql`select * from peakwatch.run_totals('tracker', make_interval(secs => ${YIELD_WINDOW_SECONDS}), ${keys}::text[])`;
  const totals = totalsRow.parse(rows[0]);
  return {
    checks: PROVIDERS.map((provider) => {
      const asked = totals.totals[yieldKeys(provider).asked] ?? 0;
      const priced = totals.totals[yieldKeys(provider).priced] ?? 0;
      const percent = asked === 0 ? null : (100 * priced) / asked;
      const graded = asked >= YIELD_MIN_ASKED;
      const text = `${provider} priced ${priced} of ${asked} asked addresses it had priced before, in ${totals.runs} tracker runs over the last ` +
        `${YIELD_WINDOW_SECONDS} s` + (graded ? "" : `; fewer than ${YIELD_MIN_ASKED}, not graded`) +
        (graded && percent !== null && percent < 50 ? `; ${provider} answers but prices almost nothing: a renamed field upstream?` : "");
      return reading(ctx, "providers:yield", percent, text, { componentId: provider, ...(graded ? {} : { status: "pass" as const }) });
    }),
  };
}
