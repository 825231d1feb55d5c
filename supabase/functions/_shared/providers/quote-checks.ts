import type { MissingReason, PriceQuote } from "./types.ts";

/** Above any market cap a real token has had (the largest companies sit near 4e12). */
export const MAX_MARKET_CAP_USD = 1e13;

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** EVM addresses compare case-insensitively (checksum casing); base58 and others are case-sensitive. */
export function sameAddress(a: string, b: string): boolean {
  if (EVM_ADDRESS.test(a) && EVM_ADDRESS.test(b)) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** Numbers arrive as strings ("NaN" included) or numbers; anything not finite becomes null. */
export function toFiniteNumber(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Why a candidate quote must not be stored, or null when it is sane. */
export function rejectReason(quote: Pick<PriceQuote, "priceUsd" | "marketCapUsd" | "liquidityUsd">): MissingReason | null {
  if (!Number.isFinite(quote.priceUsd) || quote.priceUsd <= 0) return "bad_price";
  if (quote.liquidityUsd === null || quote.liquidityUsd <= 0) return "no_liquidity";
  if (quote.marketCapUsd !== null && quote.marketCapUsd > MAX_MARKET_CAP_USD) return "absurd_market_cap";
  return null;
}
