import { z } from "zod";
import { chainId, type IngestCall } from "../calls/call-input.ts";
import { fromGeckoNetwork, GECKOTERMINAL_ACCEPT, GECKOTERMINAL_BASE_URL } from "../providers/geckoterminal.ts";
import { fetchJson } from "../providers/http.ts";
import { SchemaError } from "../providers/types.ts";
import { parseSourceConfig } from "./config.ts";
import { addressKey, describeIssue, parseItems, positiveNumber } from "./items.ts";
import { type Gate, MAX_GATE_WAIT_MS, type Source, type SourceReader, SourceConfigError, ThrottledError } from "./types.ts";

export const MAX_POOLS_PER_PAGE = 100;

export const geckoterminalTrendingConfig = z.strictObject({
  network: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, "a GeckoTerminal network id such as solana or eth"),
  /** Our chain id, when the network is not one peakwatch maps already. */
  chain: chainId.optional(),
  /** 20 pools a page; every page is one request of GeckoTerminal's 30/min shared with the tracker. */
  pages: z.int().min(1).max(10).default(1),
  timeoutMs: z.int().min(100).max(30_000).default(10_000),
});

/**
 * One pool of `GET /networks/{network}/trending_pools` (JSON:API). Strict on what a call is built
 * from — the base token's id and the pool name — and on the price key (null allowed, renamed not).
 */
export const trendingPoolSchema = z.object({
  id: z.string(),
  type: z.literal("pool"),
  attributes: z.object({
    name: z.string(),
    base_token_price_usd: z.string().nullable(),
    fdv_usd: z.string().nullish(),
    market_cap_usd: z.string().nullish(),
  }),
  relationships: z.object({
    base_token: z.object({ data: z.object({ id: z.string().min(1) }) }),
  }),
});

export type TrendingPool = z.infer<typeof trendingPoolSchema>;

const envelopeSchema = z.object({ data: z.array(z.unknown()) });

/** A trending token is a call of it, once per token (not per pool), timed when we first saw it. */
export function poolCall(pool: TrendingPool, network: string, chain: string, calledAt: string): IngestCall | null {
  const id = pool.relationships.base_token.data.id;
  if (!id.startsWith(`${network}_`) || id.length === network.length + 1) return null;
  const address = id.slice(network.length + 1);
  const { attributes } = pool;
  return {
    external_id: `${network}:${addressKey(address)}`,
    chain,
    address,
    ticker: attributes.name.split(" / ")[0]?.trim() || null,
    group: null,
    called_at: calledAt,
    entry_price_usd: positiveNumber(attributes.base_token_price_usd),
    entry_market_cap_usd: positiveNumber(attributes.market_cap_usd) ?? positiveNumber(attributes.fdv_usd),
  };
}

export interface GeckoTerminalTrendingDeps {
  baseUrl?: string;
  /** GeckoTerminal's one 30/min quota, the same key the tracker's fallback lane uses. */
  gate: Gate;
  fetch?: typeof fetch;
  now?: () => number;
}

export function createGeckoTerminalTrendingReader(source: Source, deps: GeckoTerminalTrendingDeps): SourceReader {
  const config = parseSourceConfig(geckoterminalTrendingConfig, source);
  const chain = config.chain ?? fromGeckoNetwork(config.network);
  if (chain === null) throw new SourceConfigError(`config of source ${source.name}: network ${config.network} has no known chain; set config.chain`);
  const base = `${(deps.baseUrl ?? GECKOTERMINAL_BASE_URL).replace(/\/+$/, "")}/networks/${encodeURIComponent(config.network)}/trending_pools`;
  const now = deps.now ?? Date.now;
  let page = 0;
  return {
    maxPages: config.pages,
    async readPage(_cursor, signal) {
      if (!(await deps.gate.acquire(signal, MAX_GATE_WAIT_MS))) throw new ThrottledError("geckoterminal: no rate-limit slot");
      page += 1;
      const { body } = await fetchJson(`${base}?page=${page}`, { signal, fetch: deps.fetch, timeoutMs: config.timeoutMs, headers: { accept: GECKOTERMINAL_ACCEPT } });
      const envelope = envelopeSchema.safeParse(body);
      if (!envelope.success) throw new SchemaError("geckoterminal_trending: expected a JSON:API document with a data array");
      const calledAt = new Date(now()).toISOString();
      // 20 pools a page is what GeckoTerminal sends; a flood is read no further than this.
      const listed = envelope.data.data.slice(0, MAX_POOLS_PER_PAGE);
      const parsed = parseItems("geckoterminal_trending", listed, (item, index) => {
        const pool = trendingPoolSchema.safeParse(item);
        if (!pool.success) return { ok: false, issue: describeIssue(pool.error, (path) => `data[${index}]${path.map((key) => `.${String(key)}`).join("")}`) };
        const call = poolCall(pool.data, config.network, chain, calledAt);
        return call ? { ok: true, value: call } : { ok: false, issue: `data[${index}].relationships.base_token.data.id: not a ${config.network} token id` };
      });
      return {
        calls: parsed.items,
        unreadable: parsed.unreadable,
        firstIssue: parsed.firstIssue,
        skipped: envelope.data.data.length - listed.length,
        cursor: null,
        more: page < config.pages && envelope.data.data.length > 0,
        warning: null,
      };
    },
  };
}
