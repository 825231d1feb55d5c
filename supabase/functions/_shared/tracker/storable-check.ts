import { cleanText, nonNegativeOrNull, positiveOrNull, priceProblem } from "../market/sanitize.ts";
import type { Check } from "./record-checks.ts";

export type Storable = { check: Check } | { poison: string };

/** A check as Postgres can hold it, or why it cannot be stored even after sanitizing (poison). */
export function storableCheck(check: Check): Storable {
  if (check.outcome !== "priced") return { check: { ...check, reason: cleanText(check.reason) ?? "unknown" } };
  const problem = priceProblem("price_usd", check.price_usd);
  if (problem) return { poison: problem };
  if (Number.isNaN(Date.parse(check.observed_at))) return { poison: "observed_at: not a date" };
  return {
    check: {
      ...check,
      market_cap_usd: positiveOrNull(check.market_cap_usd),
      liquidity_usd: nonNegativeOrNull(check.liquidity_usd),
      pair_address: cleanText(check.pair_address),
      dex_id: cleanText(check.dex_id),
      symbol: cleanText(check.symbol),
      name: cleanText(check.name),
    },
  };
}
