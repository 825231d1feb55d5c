import { z } from "zod";
import { chainId, externalId, type IngestCall, isoTimestamp } from "../calls/call-input.ts";
import type { Egress } from "../egress/fetch.ts";
import type { EgressRequest } from "../egress/policy.ts";
import { fetchJson } from "../providers/http.ts";
import { SchemaError, UpstreamError } from "../providers/types.ts";
import { credentialName } from "../credentials/definitions.ts";
import { type BearerSource, FEED_TOKEN_ENV } from "./bearer.ts";
import { parseSourceConfig } from "./config.ts";
import { describeIssue, parseItems, pick, positiveNumber } from "./items.ts";
import type { Page, Source, SourceReader } from "./types.ts";

const dotPath = z.string().regex(/^[A-Za-z0-9_$-]{1,64}(\.[A-Za-z0-9_$-]{1,64}){0,7}$/, "a dot path such as data.items");
const queryParam = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a query parameter name");

/** Where each field of a call sits in a feed item (dot paths); the defaults are the simulator's feed. */
const fieldMap = z.strictObject({
  external_id: dotPath.default("id"),
  chain: dotPath.default("chain"),
  address: dotPath.default("token_address"),
  ticker: dotPath.default("symbol"),
  group: dotPath.default("group"),
  called_at: dotPath.default("called_at"),
  entry_price_usd: dotPath.default("price_usd"),
  entry_market_cap_usd: dotPath.default("market_cap_usd"),
});

export const httpFeedConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** since_id: the feed returns items after an id; since_time: items at or after a timestamp. */
  cursor: z.enum(["since_id", "since_time"]).default("since_id"),
  /** Query parameter carrying the cursor; since_id or since by default. */
  cursorParam: queryParam.optional(),
  limitParam: queryParam.default("limit"),
  pageSize: z.int().min(1).max(1_000).default(100),
  maxPages: z.int().min(1).max(100).default(10),
  /** Where the list of items is in the answer; null: the answer is the list. */
  itemsPath: dotPath.nullable().default("calls"),
  /** The feed's own next cursor; without one the cursor is the largest id (or time) read. */
  nextCursorPath: dotPath.nullable().default("next_cursor"),
  /** The feed's "more pages now" flag; without one a full page means more. */
  hasMorePath: dotPath.nullable().default("has_more"),
  fields: fieldMap.prefault({}),
  /** For a feed of one chain whose items name none. */
  chain: chainId.optional(),
  /** Environment variable holding a static bearer token (PEAKWATCH_FEED_TOKEN_<NAME>). */
  tokenEnv: z.string().regex(FEED_TOKEN_ENV, "an environment variable named PEAKWATCH_FEED_TOKEN_<NAME>").optional(),
  /** A credential of the store (token-refresh) whose access token is the bearer: renewed before it expires. */
  credential: credentialName.optional(),
  timeoutMs: z.int().min(100).max(30_000).default(10_000),
}).refine((config) => config.tokenEnv === undefined || config.credential === undefined, {
  message: "give tokenEnv or credential, not both",
  path: ["credential"],
});

export type HttpFeedConfig = z.infer<typeof httpFeedConfig>;
type CursorMode = HttpFeedConfig["cursor"];

const epochOrIso = z.union([
  isoTimestamp,
  // seconds below 1e11 (until the year 5138), milliseconds above
  z.number().int().min(1).max(1e14).transform((n) => new Date(n < 1e11 ? n * 1000 : n).toISOString()),
]);

const feedCall = z.object({
  external_id: externalId,
  chain: chainId,
  address: z.string().trim().min(1).max(128),
  ticker: z.string().trim().max(64).nullish(),
  group: z.union([z.string().trim().max(200), z.number().transform(String)]).nullish(),
  called_at: epochOrIso,
  // Hints only: a missing, zero or unreadable entry value is filled from the token's price.
  entry_price_usd: z.unknown(),
  entry_market_cap_usd: z.unknown(),
});
type FeedField = keyof z.infer<typeof feedCall>;

/** -1, 0, 1, or null when the two cannot be ordered (opaque cursors). */
export function compareCursors(mode: CursorMode, a: string, b: string): number | null {
  if (mode === "since_time") {
    const [x, y] = [Date.parse(a), Date.parse(b)];
    return Number.isNaN(x) || Number.isNaN(y) ? null : Math.sign(x - y);
  }
  if (!/^\d{1,30}$/.test(a) || !/^\d{1,30}$/.test(b)) return a === b ? 0 : null;
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The cursor an item stands for (its id, or its time), read even from items that fail the schema. */
function itemCursor(item: unknown, config: HttpFeedConfig): string | null {
  if (config.cursor === "since_id") {
    const id = pick(item, config.fields.external_id);
    if (typeof id === "number" && Number.isSafeInteger(id)) return String(id);
    return typeof id === "string" && id.trim() !== "" ? id.trim() : null;
  }
  const parsed = epochOrIso.safeParse(pick(item, config.fields.called_at));
  return parsed.success ? parsed.data : null;
}

function largest(mode: CursorMode, cursors: Array<string | null>): string | null {
  let best: string | null = null;
  for (const cursor of cursors) {
    if (cursor !== null && (best === null || (compareCursors(mode, cursor, best) ?? 0) > 0)) best = cursor;
  }
  return best;
}

function toCall(item: unknown, config: HttpFeedConfig): IngestCall | z.ZodError {
  const mapped = Object.fromEntries(Object.entries(config.fields).map(([field, path]) => [field, pick(item, path)]));
  mapped.chain ??= config.chain;
  const parsed = feedCall.safeParse(mapped);
  if (!parsed.success) return parsed.error;
  const call = parsed.data;
  return {
    external_id: call.external_id,
    chain: call.chain,
    address: call.address,
    ticker: call.ticker || null,
    group: call.group || null,
    called_at: call.called_at,
    entry_price_usd: positiveNumber(call.entry_price_usd),
    entry_market_cap_usd: positiveNumber(call.entry_market_cap_usd),
  };
}

export function buildFeedUrl(config: HttpFeedConfig, cursor: string | null): string {
  const url = new URL(config.url);
  if (cursor !== null) url.searchParams.set(config.cursorParam ?? (config.cursor === "since_id" ? "since_id" : "since"), cursor);
  url.searchParams.set(config.limitParam, String(config.pageSize));
  return url.toString();
}

/** Turns one answer of the feed into a page: calls, unreadable items, and where the cursor goes. */
export function readFeedAnswer(body: unknown, config: HttpFeedConfig, current: string | null): Page {
  const answered = config.itemsPath === null ? body : pick(body, config.itemsPath);
  const listName = config.itemsPath ?? "items";
  if (!Array.isArray(answered)) throw new SchemaError(`http_feed: expected a list of calls at ${config.itemsPath ?? "the top level"}`);
  // A feed that ignores the limit does not get more work out of one request: the first pageSize
  // items are read, the cursor follows them, and the rest come with the next page.
  const oversized = answered.length > config.pageSize;
  const list = oversized ? answered.slice(0, config.pageSize) : answered;

  const parsed = parseItems("http_feed", list, (item, index) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return { ok: false, issue: `${listName}[${index}]: not an object` };
    const call = toCall(item, config);
    if (!(call instanceof z.ZodError)) return { ok: true, value: call };
    return { ok: false, issue: describeIssue(call, (path) => `${listName}[${index}].${config.fields[path[0] as FeedField] ?? String(path[0])}`) };
  });

  const announced = config.nextCursorPath === null || oversized ? undefined : pick(body, config.nextCursorPath);
  const next = typeof announced === "string" && announced !== "" ? announced
    : typeof announced === "number" && Number.isFinite(announced) ? String(announced)
    : largest(config.cursor, list.map((item) => itemCursor(item, config)));
  const flag = config.hasMorePath === null ? undefined : pick(body, config.hasMorePath);
  const more = oversized || (typeof flag === "boolean" ? flag : list.length >= config.pageSize);

  const page: Page = { calls: parsed.items, unreadable: parsed.unreadable, firstIssue: parsed.firstIssue, skipped: 0, cursor: null, more: false, warning: null };
  const capped = oversized ? `feed answered ${answered.length} items for a page of ${config.pageSize}; read the first ${config.pageSize}` : null;
  if (next === null || next === current) {
    if (more && list.length > 0) page.warning = `cursor did not advance past ${current ?? "the start"} although the feed has more`;
    return page;
  }
  if (current !== null && (compareCursors(config.cursor, next, current) ?? 1) < 0) {
    page.warning = `cursor went backwards: asked for items after ${current}, the feed answered next ${next}; kept ${current}`;
    return page;
  }
  return { ...page, cursor: next, more, warning: capped };
}

export interface HttpFeedDeps {
  bearer: BearerSource;
  fetch?: typeof fetch;
  egress?: Egress;
}

export function createHttpFeedReader(source: Source, deps: HttpFeedDeps): SourceReader {
  const config = parseSourceConfig(httpFeedConfig, source);
  const auth = { source: source.name, tokenEnv: config.tokenEnv, credential: config.credential };

  const secretName = config.credential ? `credential "${config.credential}"` : config.tokenEnv;
  const get = async (url: string, signal: AbortSignal, token: string | null) => {
    // The URL comes from a database row: its addresses are checked, and a token goes only to the
    // hosts its credential (or PEAKWATCH_FEED_TOKEN_<X>_HOSTS) allows.
    const egressRequest: EgressRequest = token === null
      ? { kind: "feed", checkAddresses: true }
      : { kind: "feed", checkAddresses: true, carriesSecret: true, secretHosts: await deps.bearer.allowedHosts?.(auth), secretName };
    try {
      return await fetchJson(url, {
        signal,
        fetch: deps.fetch,
        egress: deps.egress,
        egressRequest,
        timeoutMs: config.timeoutMs,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    } catch (error) {
      if (error instanceof UpstreamError && (error.status === 401 || error.status === 403)) {
        const which = config.credential
          ? `the token of credential ${config.credential}`
          : config.tokenEnv
          ? `the token in ${config.tokenEnv}`
          : "no bearer token (config.tokenEnv and config.credential are unset)";
        throw new UpstreamError(`feed answered ${error.status} to ${which}`, error.status);
      }
      throw error;
    }
  };

  return {
    maxPages: config.maxPages,
    async readPage(cursor, signal) {
      const url = buildFeedUrl(config, cursor);
      const token = await deps.bearer.token(auth);
      let answer;
      try {
        answer = await get(url, signal, token);
      } catch (error) {
        // A store may hand out a renewed token once; a static one is the same and not worth a second 401.
        if (!(error instanceof UpstreamError && error.status === 401)) throw error;
        const renewed = await deps.bearer.token(auth, { refresh: true, rejected: token ?? undefined });
        if (renewed === null || renewed === token) throw error;
        answer = await get(url, signal, renewed);
      }
      return readFeedAnswer(answer.body, config, cursor);
    },
  };
}
