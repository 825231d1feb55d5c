/** The shapes every upstream price source answers in, whatever its wire format. */

export type ProviderName = "dexscreener" | "geckoterminal";

export interface PriceQuote {
  /** The address as the caller asked for it, so results join back without normalising. */
  address: string;
  priceUsd: number;
  marketCapUsd: number | null;
  liquidityUsd: number | null;
  pairAddress: string | null;
  dexId: string | null;
  symbol: string | null;
  name: string | null;
  source: ProviderName;
  /** Set when an absurd market cap was dropped from this quote (the tracker counts it). */
  marketCapDropped?: true;
}

export type MissingReason =
  | "not_in_response"
  /** The response held as many pairs as the upstream ever returns: the address may have been cut off. */
  | "response_capped"
  | "no_liquidity"
  /** Listed, but no pair gives a sane USD price (no priceUsd and no priced quote token, or an insane one). */
  | "unpriceable"
  | "bad_price"
  | "absurd_market_cap"
  | "unsupported_chain";

export type AddressOutcome =
  | { address: string; outcome: "priced"; quote: PriceQuote }
  | { address: string; outcome: "missing"; reason: MissingReason };

export interface ProviderResult {
  /** One entry per requested address, in request order. */
  results: AddressOutcome[];
  /** Items of the payload that failed their schema and were skipped. */
  parseFailures: number;
  /** Items the payload held (pairs or token resources), parsed or not. */
  itemCount: number;
  /** HTTP status of the upstream answer (0 when no request was made). */
  status: number;
}

export interface PriceProvider {
  readonly name: ProviderName;
  /** Most addresses one request may carry. */
  readonly maxBatch: number;
  fetchPrices(chain: string, addresses: string[], signal?: AbortSignal): Promise<ProviderResult>;
}

/** The upstream answered with an error status, or not at all (status null: timeout, network). */
export class UpstreamError extends Error {
  readonly status: number | null;

  constructor(message: string, status: number | null, options?: ErrorOptions) {
    super(message, options);
    this.name = "UpstreamError";
    this.status = status;
  }
}

export class RateLimitedError extends UpstreamError {
  /** From Retry-After (seconds or HTTP-date); null when the upstream sent none. */
  readonly retryAfterMs: number | null;

  constructor(retryAfterMs: number | null) {
    super(retryAfterMs === null ? "rate limited" : `rate limited, retry after ${retryAfterMs} ms`, 429);
    this.name = "RateLimitedError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** The payload as a whole cannot be read: not JSON, wrong envelope, or every item failed its schema. */
export class SchemaError extends Error {
  readonly parseFailures: number;

  constructor(message: string, parseFailures = 0) {
    super(message);
    this.name = "SchemaError";
    this.parseFailures = parseFailures;
  }
}
