import { isSanePrice, MAX_MARKET_CAP_USD, toFiniteNumber } from "../market/truth.ts";
import type { MissingReason, PriceQuote } from "./types.ts";

export { MAX_MARKET_CAP_USD, toFiniteNumber };

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** EVM addresses compare case-insensitively (checksum casing); base58 and others are case-sensitive. */
export function sameAddress(a: string, b: string): boolean {
  if (EVM_ADDRESS.test(a) && EVM_ADDRESS.test(b)) return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** A key under which sameAddress() addresses meet. */
export const addressKey = (address: string): string => (EVM_ADDRESS.test(address) ? address.toLowerCase() : address);

/**
 * Why a candidate quote must not be stored, or null when it is sane. Unknown liquidity is not no
 * liquidity (bonding-curve pairs carry none), and an absurd market cap is dropped, not the price.
 */
export function rejectReason(quote: Pick<PriceQuote, "priceUsd">): MissingReason | null {
  return isSanePrice(quote.priceUsd) ? null : "bad_price";
}
