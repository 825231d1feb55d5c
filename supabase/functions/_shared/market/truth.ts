/**
 * What one upstream item means for a token and for the queue, defined once (docs/market-truth.md).
 *
 * - priced: a pair gave a sane price.
 * - listed but unpriceable: the provider lists the token, but no pair gives a sane price. The token
 *   goes to the fallback and is retried at normal cadence; never a miss toward `dead`, never an attempt.
 * - absent: not in the answer of a provider. Only absence from every provider asked is a miss.
 * - poison: an item that cannot be stored even after sanitizing. Rejected with a counted reason, the
 *   rest of its batch written; a token that is always poison is dead-lettered after N attempts.
 */
import type { AddressOutcome, MissingReason } from "../providers/types.ts";

/** Above any market cap a real token has had (the largest companies sit near 4e12). */
export const MAX_MARKET_CAP_USD = 1e13;
/** A market cap this many times the pair's own fdv is a decimals or supply mistake upstream. */
export const MAX_MARKET_CAP_TO_FDV = 1_000;
/**
 * Prices outside this range are not stored: below it a call's ROI (price / entry) leaves the range
 * of a double, above it no token has ever traded.
 */
export const MIN_PRICE_USD = 1e-30;
export const MAX_PRICE_USD = 1e12;
/** No call of a crypto token predates this; earlier timestamps (year 0, epoch 0) are poison. */
export const EARLIEST_CALL_AT = "2010-01-01T00:00:00.000Z";

/** Reasons that say the provider lists the token but could not price it. */
const UNPRICEABLE: ReadonlySet<MissingReason> = new Set(["unpriceable", "bad_price", "no_liquidity", "absurd_market_cap"]);

export const isUnpriceable = (reason: MissingReason): boolean => UNPRICEABLE.has(reason);

export type Verdict =
  | { kind: "priced"; outcome: Extract<AddressOutcome, { outcome: "priced" }> }
  /** Listed somewhere, or absent where asked but not every provider could be asked: no evidence either way. */
  | { kind: "unpriceable"; reason: string; listed: boolean }
  | { kind: "absent" }
  /** Nothing usable came back (errors, a capped answer): the caller decides between retry and attempt. */
  | { kind: "unknown" };

/**
 * The verdict on one token from every answer about it. `expected` is how many providers should
 * have answered (the fallback only where it serves the chain); `absent` needs all of them.
 */
export function verdictFor(answers: readonly AddressOutcome[], expected: number): Verdict {
  const priced = answers.find((answer) => answer.outcome === "priced");
  if (priced?.outcome === "priced") return { kind: "priced", outcome: priced };
  const listed = answers.find((answer) => answer.outcome === "missing" && isUnpriceable(answer.reason));
  if (listed?.outcome === "missing") return { kind: "unpriceable", reason: listed.reason, listed: true };
  const absent = answers.filter((answer) => answer.outcome === "missing" && answer.reason === "not_in_response").length;
  if (absent > 0 && absent >= expected) return { kind: "absent" };
  if (absent > 0) return { kind: "unpriceable", reason: `absent from ${absent} of ${expected} providers; not confirmed`, listed: false };
  return { kind: "unknown" };
}

/** Numbers arrive as strings ("NaN" included) or numbers; anything not finite becomes null. */
export function toFiniteNumber(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

export const isSanePrice = (price: number): boolean => Number.isFinite(price) && price >= MIN_PRICE_USD && price <= MAX_PRICE_USD;

export interface MarketCap {
  value: number | null;
  /** An absurd figure was dropped (counted by the tracker); the price stays. */
  dropped: boolean;
}

/**
 * The market cap worth storing: the reported one unless absurd (above 1e13, or above 1,000× the
 * pair's fdv when both exist); without one, the fdv when sane. Zero or below means unknown (null).
 */
export function saneMarketCap(marketCap: number | null, fdv: number | null): MarketCap {
  const positive = (n: number | null) => (n !== null && n > 0 ? n : null);
  const cap = positive(marketCap);
  const fully = positive(fdv);
  const fdvSane = fully !== null && fully <= MAX_MARKET_CAP_USD;
  if (cap !== null) {
    const absurd = cap > MAX_MARKET_CAP_USD || (fully !== null && cap > MAX_MARKET_CAP_TO_FDV * fully);
    // Which figure upstream got wrong is unknowable: store neither rather than a wrong one.
    return absurd ? { value: null, dropped: true } : { value: cap, dropped: false };
  }
  if (fully === null) return { value: null, dropped: false };
  return fdvSane ? { value: fully, dropped: false } : { value: null, dropped: true };
}
