import { z } from "zod";
import { EgressError } from "../egress/errors.ts";
import { fetchJson } from "../providers/http.ts";
import { GECKOTERMINAL_ACCEPT, GECKOTERMINAL_BASE_URL } from "../providers/geckoterminal.ts";
import { RateLimitedError, SchemaError, UpstreamError } from "../providers/types.ts";
import type { Bar, BarPage, BarRequest, CandleProvider, CoverageReason } from "./provider.ts";
import { type Timeframe, timeframeMs } from "./timeframes.ts";

/** `GET /networks/{network}/pools/{pool}/ohlcv/{unit}?aggregate=` for each timeframe it serves (no 30m). */
export const GECKO_OHLCV_TIMEFRAMES: Partial<Record<Timeframe, { unit: "day" | "hour" | "minute"; aggregate: number }>> = {
  "1m": { unit: "minute", aggregate: 1 },
  "5m": { unit: "minute", aggregate: 5 },
  "15m": { unit: "minute", aggregate: 15 },
  "1h": { unit: "hour", aggregate: 1 },
  "4h": { unit: "hour", aggregate: 4 },
  "12h": { unit: "hour", aggregate: 12 },
  "1d": { unit: "day", aggregate: 1 },
};

export const GECKO_OHLCV_MAX_LIMIT = 1000;
/** History is served for about 6 months; a request wholly older than this is not made. */
export const GECKO_HISTORY_WINDOW_MS = 180 * 86_400_000;

const finite = z.number().finite();
/** [timestamp s, open, high, low, close, volume]; numbers on the wire (some clients send strings: refused). */
const ohlcvRow = z.tuple([z.number().int().nonnegative(), finite, finite, finite, finite, finite.nonnegative()]);

export const geckoOhlcvSchema = z.object({
  data: z.object({
    id: z.string().optional(),
    type: z.literal("ohlcv_request_response"),
    attributes: z.object({ ohlcv_list: z.array(z.unknown()) }),
  }),
  meta: z
    .object({
      base: z.object({ address: z.string() }).partial().passthrough().nullish(),
      quote: z.object({ address: z.string() }).partial().passthrough().nullish(),
    })
    .nullish(),
});

export interface ParsedOhlcv {
  /** Oldest first, buckets unique. */
  bars: Bar[];
  /** Rows that failed their schema, were not aligned to the timeframe or repeated a bucket. */
  rejected: number;
  rows: number;
}

/**
 * Newest-first rows to oldest-first bars. A row with zero volume is an interval without trades that
 * GeckoTerminal padded (include_empty_intervals: OHLC = previous close): stored, marked synthetic.
 * Every row failing its schema is schema drift; some failing is a counted rejection.
 */
export function parseOhlcv(payload: unknown, timeframe: Timeframe): ParsedOhlcv {
  const envelope = geckoOhlcvSchema.safeParse(payload);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    throw new SchemaError(`geckoterminal ohlcv: ${issue ? issue.path.join(".") || "document" : "document"}: ${issue?.message ?? "unreadable"}`);
  }
  const rows = envelope.data.data.attributes.ohlcv_list;
  const size = timeframeMs(timeframe);
  const byBucket = new Map<number, Bar>();
  let rejected = 0;
  for (const row of rows) {
    const parsed = ohlcvRow.safeParse(row);
    const ms = parsed.success ? parsed.data[0] * 1000 : Number.NaN;
    if (!parsed.success || ms % size !== 0 || byBucket.has(ms)) {
      rejected++;
      continue;
    }
    const [, open, high, low, close, volume] = parsed.data;
    byBucket.set(ms, { bucket: new Date(ms), open, high, low, close, volume, synthetic: volume === 0 });
  }
  if (rows.length > 0 && byBucket.size === 0) {
    throw new SchemaError(`geckoterminal ohlcv: all ${rows.length} rows failed the schema`, rejected);
  }
  const bars = [...byBucket.values()].sort((a, b) => a.bucket.getTime() - b.bucket.getTime());
  return { bars, rejected, rows: rows.length };
}

export function ohlcvUrl(baseUrl: string, request: BarRequest, limit: number): string {
  const spec = GECKO_OHLCV_TIMEFRAMES[request.timeframe];
  if (!spec || request.network === null) throw new RangeError(`geckoterminal serves no ${request.timeframe} bars for this request`);
  const params = new URLSearchParams({
    aggregate: String(spec.aggregate),
    before_timestamp: String(Math.floor(request.to.getTime() / 1000)),
    limit: String(limit),
    currency: "usd",
    token: request.tokenSide ?? "base",
    include_empty_intervals: "true",
  });
  const path = `/networks/${encodeURIComponent(request.network)}/pools/${encodeURIComponent(request.symbol)}/ohlcv/${spec.unit}`;
  return `${baseUrl.replace(/\/+$/, "")}${path}?${params}`;
}

/** A shared, cross-instance slot source: the candles' shares of GeckoTerminal's one budget. */
export interface SlotGate {
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}

export interface GeckoCandleOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** The budget share this provider spends; one call per request. */
  gate: SlotGate;
  /** Longest wait for a budget slot per request; past it the request fails as `budget`. */
  maxGateWaitMs?: number;
  now?: () => number;
}

/** Failure kinds, counted per run: what went wrong, not where. */
export type GeckoFailureKind =
  | "budget" | "rate_limited" | "upstream_5xx" | "unreachable" | "not_found" | "refused" | "bad_request" | "schema_drift" | "egress" | "unsupported";

function failure(kind: GeckoFailureKind, message: string, coverage: CoverageReason | null = null): BarPage {
  return { ok: false, kind, message, coverage };
}

function classify(error: unknown): BarPage {
  if (error instanceof RateLimitedError) return failure("rate_limited", error.message);
  if (error instanceof UpstreamError) {
    const status = error.status;
    if (status === null) return failure("unreachable", error.message);
    if (status >= 500) return failure("upstream_5xx", error.message);
    // A pool GeckoTerminal does not know (or no longer lists) answers 404.
    if (status === 404) return failure("not_found", error.message, "not_on_provider");
    // Beyond what the plan may read (older history on the public API) or a key refused.
    if (status === 401 || status === 403) return failure("refused", error.message, "provider_refused");
    return failure("bad_request", error.message);
  }
  if (error instanceof SchemaError) return failure("schema_drift", error.message);
  if (error instanceof EgressError) return failure("egress", error.message);
  throw error;
}

export function createGeckoCandleProvider(options: GeckoCandleOptions): CandleProvider {
  const baseUrl = options.baseUrl ?? GECKOTERMINAL_BASE_URL;
  const now = options.now ?? Date.now;
  const supports = (timeframe: Timeframe) => GECKO_OHLCV_TIMEFRAMES[timeframe] !== undefined;

  const fetchOne = async (request: BarRequest, signal: AbortSignal): Promise<BarPage> => {
    if (!supports(request.timeframe) || request.network === null) {
      return failure("unsupported", `geckoterminal serves no ${request.timeframe} bars${request.network === null ? " without a network" : ""}`);
    }
    const size = timeframeMs(request.timeframe);
    const windowStart = now() - GECKO_HISTORY_WINDOW_MS;
    // Nothing of the window is inside what the provider serves: no call is spent on it.
    if (request.to.getTime() <= windowStart) return { ok: true, bars: [], reachedStart: true, coverage: "beyond_provider_window" };
    const from = request.from === null ? null : Math.max(request.from.getTime(), Math.floor(windowStart / size) * size);
    const wanted = from === null ? request.limit : Math.ceil((request.to.getTime() - from) / size);
    const limit = Math.max(1, Math.min(GECKO_OHLCV_MAX_LIMIT, request.limit, wanted));

    if (!(await options.gate.acquire(signal, options.maxGateWaitMs ?? 5_000))) return failure("budget", "geckoterminal: no budget slot in time");
    let parsed: ParsedOhlcv;
    try {
      const { body } = await fetchJson(ohlcvUrl(baseUrl, request, limit), { signal, fetch: options.fetch, timeoutMs: options.timeoutMs, headers: { accept: GECKOTERMINAL_ACCEPT } });
      parsed = parseOhlcv(body, request.timeframe);
    } catch (error) {
      if (signal.aborted) throw error;
      return classify(error);
    }
    const inRange = parsed.bars.filter((bar) => bar.bucket.getTime() < request.to.getTime() && (from === null || bar.bucket.getTime() >= from));
    const oldest = parsed.bars[0]?.bucket.getTime() ?? null;
    // Fewer rows than asked for and the window not covered: the pool has no older history.
    const short = parsed.rows < limit && (from === null || oldest === null || oldest > from);
    const clipped = request.from !== null && request.from.getTime() < windowStart;
    const reachedStart = short || (clipped && (oldest === null || oldest <= (from ?? 0)));
    const coverage: CoverageReason | null = clipped && reachedStart && !short ? "beyond_provider_window" : null;
    return { ok: true, bars: inRange, reachedStart, coverage };
  };

  return {
    name: "geckoterminal",
    supports,
    async fetchBars(requests, signal) {
      const pages: BarPage[] = [];
      // One at a time: the budget paces them anyway, and a shutdown stops between requests.
      for (const request of requests) {
        signal.throwIfAborted();
        pages.push(await fetchOne(request, signal));
      }
      return pages;
    },
  };
}
