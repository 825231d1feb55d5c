/**
 * A call-group feed in the shape of the APIs call bots publish: `GET /feed/calls?since_id=…&limit=…`
 * (or `?since=<ISO time>`) answering `{calls: [...], next_cursor, has_more}`, optionally behind a
 * bearer token. Calls are generated from the simulated market (one every `everyMs` of simulated
 * time) and can be added as raw JSON through the admin API, malformed ones included.
 */
import { z } from "zod";
import type { Answer, World } from "./answers.ts";
import { pick, streamFor } from "./prng.ts";

export interface FeedOptions {
  /** Bearer token the feed requires; null or absent: none. */
  token?: string | null;
  /** A generated call every this many ms of simulated time; 0: only calls added by hand. Default 60 s. */
  everyMs?: number;
}

export const feedSettingsSchema = z.strictObject({
  token: z.string().min(1).nullable().optional(),
  everyMs: z.int().min(0).optional(),
});

export const feedCallsSchema = z.strictObject({ calls: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000) });

const MAX_LIMIT = 500;
const REWIND_IDS = 10;
const REWIND_MS = 600_000;

interface Entry {
  id: number;
  /** Simulated ms of the call, for since-time queries. */
  atMs: number;
  item: Record<string, unknown>;
}

export class Feed {
  readonly #seed: number;
  readonly #entries: Entry[] = [];
  #token: string | null;
  #everyMs: number;
  #generatedUpTo = 0;

  constructor(seed: number, options: FeedOptions = {}) {
    this.#seed = seed;
    this.#token = options.token ?? null;
    this.#everyMs = options.everyMs ?? 60_000;
  }

  configure(settings: z.infer<typeof feedSettingsSchema>, elapsedMs: number): void {
    if (settings.token !== undefined) this.#token = settings.token;
    if (settings.everyMs !== undefined) {
      this.#everyMs = settings.everyMs;
      // A new cadence starts now: no burst of calls "missed" before it was set.
      this.#generatedUpTo = elapsedMs;
    }
  }

  authorized(authorization: string | undefined): boolean {
    return this.#token === null || authorization === `Bearer ${this.#token}`;
  }

  /** Adds raw calls (anything JSON); each gets the next id (the feed's own), and called_at now when it has none. */
  add(world: World, elapsedMs: number, calls: Array<Record<string, unknown>>): Entry[] {
    this.#catchUp(world, elapsedMs);
    return calls.map((call) => {
      const at = typeof call.called_at === "string" ? Date.parse(call.called_at) : Number.NaN;
      const atMs = Number.isNaN(at) ? elapsedMs : at - world.epochMs;
      return this.#push({ called_at: iso(world, atMs), ...call }, atMs);
    });
  }

  answer(world: World, elapsedMs: number, query: URLSearchParams, backwards: boolean): Answer {
    this.#catchUp(world, elapsedMs);
    const limit = query.has("limit") ? Number(query.get("limit")) : 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { status: 400, body: { error: `limit must be 1..${MAX_LIMIT}` } };
    if (query.has("since")) {
      const since = Date.parse(query.get("since") ?? "");
      if (Number.isNaN(since)) return { status: 400, body: { error: "since must be an ISO 8601 time" } };
      return this.#sinceTime(world, since - world.epochMs, limit, backwards);
    }
    const sinceId = Number(query.get("since_id") ?? "0");
    if (!Number.isInteger(sinceId) || sinceId < 0) return { status: 400, body: { error: "since_id must be a non-negative integer" } };
    return this.#sinceId(sinceId, limit, backwards);
  }

  /** The cursor_backwards fault: the feed answers from an earlier point and a next cursor behind the one asked for. */
  #sinceId(sinceId: number, limit: number, backwards: boolean): Answer {
    const from = backwards && sinceId > 0 ? Math.max(0, sinceId - REWIND_IDS) : sinceId;
    const after = this.#entries.filter((entry) => entry.id > from);
    const served = after.slice(0, limit);
    const last = served.at(-1)?.id ?? sinceId;
    const next = backwards && sinceId > 0 ? Math.min(last, sinceId - 1) : last;
    return { status: 200, body: { calls: served.map((e) => e.item), next_cursor: String(next), has_more: after.length > served.length } };
  }

  /** Inclusive of `since`: a call at the cursor's own time is served again (a duplicate, never a gap). */
  #sinceTime(world: World, sinceMs: number, limit: number, backwards: boolean): Answer {
    const from = backwards ? sinceMs - REWIND_MS : sinceMs;
    const after = this.#entries.filter((entry) => entry.atMs >= from).sort((a, b) => a.atMs - b.atMs || a.id - b.id);
    const served = after.slice(0, limit);
    const lastMs = served.at(-1)?.atMs ?? sinceMs;
    const nextMs = backwards ? Math.min(lastMs, sinceMs - 1_000) : lastMs;
    return { status: 200, body: { calls: served.map((e) => e.item), next_cursor: iso(world, nextMs), has_more: after.length > served.length } };
  }

  #push(item: Record<string, unknown>, atMs: number): Entry {
    const { id: _sequenced, ...rest } = item;
    const id = this.#entries.length + 1;
    const entry = { id, atMs, item: { id, ...rest } };
    this.#entries.push(entry);
    return entry;
  }

  /** Generated calls up to now: a token listed at that moment, its price then as the entry. */
  #catchUp(world: World, elapsedMs: number): void {
    if (this.#everyMs <= 0) return;
    while (this.#generatedUpTo + this.#everyMs <= elapsedMs) {
      this.#generatedUpTo += this.#everyMs;
      const atMs = this.#generatedUpTo;
      const listed = world.tokens.filter((token) => token.kind !== "quote_only" && world.market.snapshot(token, atMs).listed);
      if (listed.length === 0) continue;
      const k = this.#entries.length + 1;
      const token = pick(streamFor(this.#seed, "feed", k), listed);
      const snap = world.market.snapshot(token, atMs);
      const poison = token.kind === "poison";
      this.#push({
        chain: token.chain,
        token_address: token.address,
        // poison: a NUL and an unpaired surrogate in the ticker, an entry price that overflows ROI, market cap 0
        symbol: poison ? `${token.symbol}\u0000\udc00` : token.symbol,
        group: k % 2 === 0 ? "sim-alpha" : "sim-beta",
        called_at: iso(world, atMs),
        price_usd: poison ? 1e-40 : snap.priceUsd,
        market_cap_usd: poison ? 0 : token.reportsMarketCap ? snap.marketCapUsd : null,
      }, atMs);
    }
  }
}

function iso(world: World, elapsedMs: number): string {
  return new Date(world.epochMs + elapsedMs).toISOString();
}
