import { calledAtProblem, cleanId, cleanText, positiveOrNull, priceProblem } from "../market/sanitize.ts";
import type { IngestCall } from "./call-input.ts";

export interface SanitizedCalls {
  /** One per input call, in order: the call as Postgres can hold it, or a placeholder it rejects. */
  calls: Array<IngestCall | Record<string, never>>;
  /** Reason per input index for the poison ones (the placeholder's own rejection reason is replaced). */
  poison: Map<number, string>;
}

/**
 * Feed items as Postgres can hold them: NUL stripped and unpaired surrogates replaced in every
 * string, a market cap of 0 or below dropped (unknown). Items still unstorable (a call time before
 * 2010 such as year 0, an entry price that overflows ROI) are poison: swapped for `{}`, which
 * ingest_calls rejects on its own, so the rest of the page is written and its cursor moves.
 */
export function sanitizeCalls(calls: readonly IngestCall[]): SanitizedCalls {
  const poison = new Map<number, string>();
  const out = calls.map((call, i) => {
    const problem = calledAtProblem(call.called_at) ?? (call.entry_price_usd === null ? null : priceProblem("entry_price_usd", call.entry_price_usd));
    if (problem) {
      poison.set(i, problem);
      return {};
    }
    return {
      ...call,
      external_id: cleanId(call.external_id),
      chain: cleanId(call.chain),
      address: cleanId(call.address),
      ticker: cleanText(call.ticker),
      group: cleanText(call.group),
      entry_market_cap_usd: positiveOrNull(call.entry_market_cap_usd),
    };
  });
  return { calls: out, poison };
}
