import { z } from "zod";

export const MAX_CALLS_PER_REQUEST = 1_000;
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const CHAIN_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * A call as `peakwatch.ingest_calls` takes it: what every source kind and every hand-posted batch is
 * turned into. Addresses go in as received; the database normalises and validates them per chain.
 */
export interface IngestCall {
  external_id: string;
  chain: string;
  address: string;
  ticker: string | null;
  group: string | null;
  /** Canonical ISO 8601 in UTC. */
  called_at: string;
  entry_price_usd: number | null;
  entry_market_cap_usd: number | null;
}

function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split("-").map(Number);
  if (year === undefined || month === undefined || day === undefined) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** ISO 8601 with a zone ("Z" or "+02:00"), a real calendar date, rewritten as UTC milliseconds. */
export const isoTimestamp = z.iso.datetime({ offset: true }).transform((value, ctx) => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !isCalendarDate(value)) {
    ctx.issues.push({ code: "custom", message: "not a real date and time", input: value });
    return z.NEVER;
  }
  return new Date(ms).toISOString();
});

export const sourceName = z.string().regex(SOURCE_NAME, "a source name (lowercase letters, digits, _ . -)");
export const chainId = z.string().trim().toLowerCase().regex(CHAIN_ID, "a lowercase chain id such as solana or ethereum");
export const externalId = z.union([z.string().trim().min(1).max(200), z.int().nonnegative()]).transform(String);

/** One call posted by hand or by another bot. */
export const postedCall = z.strictObject({
  source: sourceName,
  external_id: externalId,
  chain: chainId,
  address: z.string().trim().min(1).max(128),
  ticker: z.string().trim().min(1).max(64),
  called_at: isoTimestamp,
  group: z.string().trim().min(1).max(200).nullish(),
  entry_price_usd: z.number().positive().nullish(),
  entry_market_cap_usd: z.number().positive().nullish(),
});

export type PostedCall = z.infer<typeof postedCall>;

export function toIngestCall(call: PostedCall): IngestCall {
  return {
    external_id: call.external_id,
    chain: call.chain,
    address: call.address,
    ticker: call.ticker,
    group: call.group ?? null,
    called_at: call.called_at,
    entry_price_usd: call.entry_price_usd ?? null,
    entry_market_cap_usd: call.entry_market_cap_usd ?? null,
  };
}
