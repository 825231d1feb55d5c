import type { ClaimedToken } from "../db/rows.ts";
import type { Verdict } from "../market/truth.ts";
import type { Check } from "./record-checks.ts";

/**
 * What the tracker writes for one token, given the verdict on it:
 * - priced, liquidity known and under the floor → no_pair (a miss toward dead: trading stopped);
 * - priced otherwise → priced (unknown liquidity is not zero);
 * - listed but unpriceable, or absent where not every provider could confirm → unpriceable
 *   (normal cadence, no miss, no attempt);
 * - absent from every provider → no_pair (a miss).
 */
export function checkFor(token: ClaimedToken, verdict: Exclude<Verdict, { kind: "unknown" }>, observedAt: string, floorUsd: number): Check {
  if (verdict.kind === "absent") return { token_id: token.token_id, outcome: "no_pair", reason: "not_in_response" };
  if (verdict.kind === "unpriceable") return { token_id: token.token_id, outcome: "unpriceable", reason: verdict.reason, listed: verdict.listed };
  const { quote } = verdict.outcome;
  if (quote.liquidityUsd !== null && quote.liquidityUsd < floorUsd) {
    return { token_id: token.token_id, outcome: "no_pair", reason: `liquidity ${quote.liquidityUsd} below floor ${floorUsd}` };
  }
  return {
    token_id: token.token_id,
    outcome: "priced",
    price_usd: quote.priceUsd,
    market_cap_usd: quote.marketCapUsd,
    liquidity_usd: quote.liquidityUsd,
    pair_address: quote.pairAddress,
    dex_id: quote.dexId,
    symbol: quote.symbol,
    name: quote.name,
    observed_at: observedAt,
  };
}
