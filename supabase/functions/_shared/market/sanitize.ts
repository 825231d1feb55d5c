/**
 * Sanitizing before anything reaches Postgres: what jsonb and text columns cannot hold is stripped
 * or replaced, so one odd name never fails a whole batch (`unsupported Unicode escape sequence`).
 */
import { EARLIEST_CALL_AT, isSanePrice, MAX_PRICE_USD, MIN_PRICE_USD } from "./truth.ts";

const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** NUL stripped, unpaired surrogates replaced with U+FFFD; empty becomes null. */
export function cleanText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const cleaned = value.replace(NUL, "").replace(LONE_SURROGATE, "\uFFFD");
  return cleaned === "" ? null : cleaned;
}

/** The same for a value that must stay a string (an id): never null. */
export const cleanId = (value: string): string => value.replace(NUL, "").replace(LONE_SURROGATE, "\uFFFD");

/** A market cap or liquidity figure: zero or below, or not finite, is unknown. */
export const positiveOrNull = (value: number | null | undefined): number | null =>
  value !== null && value !== undefined && Number.isFinite(value) && value > 0 ? value : null;

export const nonNegativeOrNull = (value: number | null | undefined): number | null =>
  value !== null && value !== undefined && Number.isFinite(value) && value >= 0 ? value : null;

/** Why a price cannot be stored, or null. */
export function priceProblem(field: string, price: number): string | null {
  if (isSanePrice(price)) return null;
  if (Number.isFinite(price) && price > 0 && price < MIN_PRICE_USD) return `${field}: below ${MIN_PRICE_USD} USD (ROI would overflow)`;
  if (Number.isFinite(price) && price > MAX_PRICE_USD) return `${field}: above ${MAX_PRICE_USD} USD`;
  return `${field}: not a positive finite number`;
}

/** Why a call time cannot be stored, or null: before 2010 (year 0, epoch 0) or not a date at all. */
export function calledAtProblem(calledAt: string): string | null {
  const ms = Date.parse(calledAt);
  if (Number.isNaN(ms)) return "called_at: not a date";
  return ms < Date.parse(EARLIEST_CALL_AT) ? "called_at: before 2010" : null;
}
