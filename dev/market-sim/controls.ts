import { z } from "zod";
import { type Rng, streamFor } from "./prng.ts";

export const PROVIDERS = ["dexscreener", "geckoterminal", "feed"] as const;
export type Provider = (typeof PROVIDERS)[number];

/**
 * malformed: the body cut in half. malformed_items: among good items, every third one loses a field
 * its parser needs and a null is slipped in. cursor_backwards (feed): answers from an earlier point
 * with a next cursor behind the one asked for. disconnect: the connection is closed before any answer
 * (the client sees a network error, as when the host refuses connections). rate_limited: a 429 whatever
 * the limit says. gaps (GeckoTerminal OHLCV): about 30% of the bars are left out of each answer.
 * revised_bar (GeckoTerminal OHLCV): every 7th closed bar is served with a changed close and volume.
 */
export const FAULT_KINDS = [
  "5xx", "timeout", "disconnect", "malformed", "malformed_items", "renamed_field", "renamed_optional", "pair_cap_30", "cursor_backwards",
  "rate_limited", "gaps", "revised_bar", "none",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSchema = z
  .object({ provider: z.enum(PROVIDERS), kind: z.enum(FAULT_KINDS), rate: z.number().min(0).max(1).default(1) })
  .refine((fault) => fault.kind !== "pair_cap_30" || fault.provider === "dexscreener", {
    message: "pair_cap_30 exists only for dexscreener",
  })
  .refine((fault) => fault.kind !== "cursor_backwards" || fault.provider === "feed", {
    message: "cursor_backwards exists only for the feed",
  })
  .refine((fault) => !["gaps", "revised_bar"].includes(fault.kind) || fault.provider === "geckoterminal", {
    message: "gaps and revised_bar exist only for geckoterminal (its OHLCV)",
  });
export type Fault = z.infer<typeof faultSchema>;

export const ENDPOINTS = {
  "dexscreener.tokens": { provider: "dexscreener", bucket: "dexscreenerTokens" },
  "dexscreener.profiles": { provider: "dexscreener", bucket: "dexscreenerProfiles" },
  // GeckoTerminal's public limit is one budget for the whole API, not per endpoint.
  "geckoterminal.tokens_multi": { provider: "geckoterminal", bucket: "geckoterminal" },
  "geckoterminal.trending_pools": { provider: "geckoterminal", bucket: "geckoterminal" },
  "geckoterminal.ohlcv": { provider: "geckoterminal", bucket: "geckoterminal" },
  "feed.calls": { provider: "feed", bucket: "feed" },
} as const satisfies Record<string, { provider: Provider; bucket: keyof Omit<RateLimits, "windowMs"> }>;
export type Endpoint = keyof typeof ENDPOINTS;

/** Requests per window, as the real APIs document them: 300/min and 60/min, 30/min; the feed is ours. */
export interface RateLimits {
  dexscreenerTokens: number;
  dexscreenerProfiles: number;
  geckoterminal: number;
  feed: number;
  windowMs: number;
}

export const DEFAULT_LIMITS: RateLimits = { dexscreenerTokens: 300, dexscreenerProfiles: 60, geckoterminal: 30, feed: 600, windowMs: 60_000 };

/** Fixed windows aligned to simulator start; answers the wait until the next window when full. */
export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #used = new Map<string, { window: number; count: number }>();

  constructor(limits: RateLimits) {
    this.#limits = limits;
  }

  /** Null when the request may pass, else milliseconds until it may. */
  take(endpoint: Endpoint, elapsedMs: number): number | null {
    const { bucket } = ENDPOINTS[endpoint];
    const window = Math.floor(elapsedMs / this.#limits.windowMs);
    const used = this.#used.get(bucket);
    const count = used?.window === window ? used.count : 0;
    if (count >= this.#limits[bucket]) return (window + 1) * this.#limits.windowMs - elapsedMs;
    this.#used.set(bucket, { window, count: count + 1 });
    return null;
  }
}

export class Faults {
  readonly #active = new Map<Provider, Fault>();
  readonly #rng: Rng;

  constructor(seed: number) {
    this.#rng = streamFor(seed, "faults");
  }

  set(fault: Fault): void {
    if (fault.kind === "none") this.#active.delete(fault.provider);
    else this.#active.set(fault.provider, fault);
  }

  /** The fault this request suffers, drawn against its rate; null for a normal answer. */
  draw(provider: Provider): Exclude<FaultKind, "none"> | null {
    const fault = this.#active.get(provider);
    if (!fault || fault.kind === "none" || this.#rng() >= fault.rate) return null;
    return fault.kind;
  }

  list(): Fault[] {
    return [...this.#active.values()];
  }
}

export type Outcome = "ok" | "rate_limited" | "fault" | "bad_request" | "not_found";

export interface EndpointStats {
  requests: number;
  ok: number;
  rateLimited: number;
  faulted: number;
  badRequest: number;
  notFound: number;
}

const OUTCOME_FIELD: Record<Outcome, keyof Omit<EndpointStats, "requests">> = {
  ok: "ok",
  rate_limited: "rateLimited",
  fault: "faulted",
  bad_request: "badRequest",
  not_found: "notFound",
};

export class Stats {
  readonly #byEndpoint = new Map<Endpoint, EndpointStats>();

  record(endpoint: Endpoint, outcome: Outcome): void {
    const stats = this.#byEndpoint.get(endpoint) ?? { requests: 0, ok: 0, rateLimited: 0, faulted: 0, badRequest: 0, notFound: 0 };
    stats.requests += 1;
    stats[OUTCOME_FIELD[outcome]] += 1;
    this.#byEndpoint.set(endpoint, stats);
  }

  snapshot(): Record<string, EndpointStats> {
    return Object.fromEntries([...this.#byEndpoint].map(([endpoint, stats]) => [endpoint, { ...stats }]));
  }
}
