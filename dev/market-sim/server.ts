/**
 * A local stand-in for DexScreener and GeckoTerminal: their wire formats, rate limits and
 * failure modes, over a deterministic simulated market. Loopback only; never real prices.
 *
 * Market: GET /tokens/v1/{chain}/{a,b,…} · GET /token-profiles/latest/v1 ·
 *         GET /api/v2/networks/{network}/tokens/multi/{a,b,…} · GET /api/v2/networks/{network}/trending_pools ·
 *         GET /api/v2/networks/{network}/pools/{pool}/ohlcv/{day|hour|minute} (ohlcv.ts: the same walk as the spot prices)
 * Feed:   GET /feed/calls?since_id=…|since=…&limit=… (a call group's API; see feed.ts)
 * Admin:  POST /__sim/faults {provider, kind, rate?} · GET /__sim/stats · GET|POST /__sim/tokens ·
 *         POST /__sim/clock {advanceMs} · POST /__sim/reset · POST /__sim/feed {token?, everyMs?} ·
 *         POST /__sim/feed/calls {calls: [...]}
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { DEXSCREENER_PAIR_CAP } from "../../supabase/functions/_shared/providers/dexscreener.ts";
import { type Answer, dexProfiles, dexTokens, geckoTokens, geckoTrending, type World } from "./answers.ts";
import { DEFAULT_LIMITS, ENDPOINTS, type Endpoint, type FaultKind, faultSchema, Faults, type Provider, RateLimiter, type RateLimits, Stats } from "./controls.ts";
import { Feed, feedCallsSchema, type FeedOptions, feedSettingsSchema } from "./feed.ts";
import { Market } from "./market.ts";
import { geckoOhlcv, OhlcvHistory } from "./ohlcv.ts";
import { streamFor } from "./prng.ts";
import { buildToken, DEFAULT_CHAINS, generateUniverse, type SimToken, type TokenSpec, tokenSpecSchema } from "./universe.ts";
import { withMalformedItems, withRenamedField, withRenamedOptional } from "./wire.ts";

export interface MarketSimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  tokens?: { chains?: string[]; perChain?: number; extra?: TokenSpec[] };
  limits?: Partial<RateLimits>;
  feed?: FeedOptions;
  /** Wall clock; tests pass a fixed one so nothing depends on real time passing. */
  now?: () => number;
}

export interface MarketSimulator {
  /** DexScreener base URL (`/tokens/v1/…`). */
  url: string;
  /** GeckoTerminal base URL (`…/api/v2`). */
  geckoterminalUrl: string;
  /** The call feed (`http_feed` sources read it). */
  feedUrl: string;
  tokens(): SimToken[];
  /** Adds raw calls to the feed, like `POST /__sim/feed/calls`; returns their feed ids. */
  addFeedCalls(calls: Array<Record<string, unknown>>): number[];
  /** Sets the feed's bearer token or generation cadence, like `POST /__sim/feed`. */
  configureFeed(settings: FeedOptions): void;
  elapsedMs(): number;
  /** Moves simulated time forward, like `POST /__sim/clock`. */
  advance(ms: number): void;
  close(): Promise<void>;
}

interface State {
  world: World;
  history: OhlcvHistory;
  feed: Feed;
  limiter: RateLimiter;
  faults: Faults;
  stats: Stats;
  offsetMs: number;
}

const DEX_TOKENS = /^\/tokens\/v1\/([^/]+)\/([^/]+)$/;
const GECKO_MULTI = /^\/api\/v2\/networks\/([^/]+)\/tokens\/multi\/([^/]+)$/;
const GECKO_TRENDING = /^\/api\/v2\/networks\/([^/]+)\/trending_pools$/;
const GECKO_OHLCV = /^\/api\/v2\/networks\/([^/]+)\/pools\/([^/]+)\/ohlcv\/([^/]+)$/;
const FEED_CALLS = "/feed/calls";

const addTokensSchema = z.object({ tokens: z.array(tokenSpecSchema).min(1) });
const clockSchema = z.object({ advanceMs: z.number().min(0) });

export async function startMarketSimulator(options: MarketSimulatorOptions = {}): Promise<MarketSimulator> {
  const seed = options.seed ?? 1;
  const now = options.now ?? Date.now;
  const limits: RateLimits = { ...DEFAULT_LIMITS, ...options.limits };

  const fresh = (): State => {
    const tokens = generateUniverse(seed, options.tokens?.chains ?? DEFAULT_CHAINS, options.tokens?.perChain ?? 12);
    for (const spec of options.tokens?.extra ?? []) tokens.push(buildToken(seed, tokens.length, spec, 0));
    return { world: { tokens, market: new Market(seed), epochMs: now() }, history: new OhlcvHistory(seed), feed: new Feed(seed, options.feed), limiter: new RateLimiter(limits), faults: new Faults(seed), stats: new Stats(), offsetMs: 0 };
  };
  let state = fresh();
  const elapsedMs = () => now() - state.world.epochMs + state.offsetMs;

  const market = (req: IncomingMessage, url: URL, res: ServerResponse): void => {
    const hit = route(url, state.feed, state.history);
    if (!hit) return json(res, 404, { error: "no such simulated endpoint" });
    const { provider } = ENDPOINTS[hit.endpoint];
    const elapsed = elapsedMs();
    if (hit.endpoint === "feed.calls" && !state.feed.authorized(req.headers.authorization)) {
      state.stats.record(hit.endpoint, "bad_request"); // a refused request, counted with the other 4xx
      return json(res, 401, { error: "missing or wrong bearer token" });
    }
    const waitMs = state.limiter.take(hit.endpoint, elapsed);
    if (waitMs !== null) {
      state.stats.record(hit.endpoint, "rate_limited");
      return rateLimited(res, provider, waitMs);
    }
    const fault = state.faults.draw(provider);
    const applies = fault !== null && (fault !== "pair_cap_30" || hit.endpoint === "dexscreener.tokens") &&
      (!["gaps", "revised_bar"].includes(fault) || hit.endpoint === "geckoterminal.ohlcv");
    if (fault === "timeout") return state.stats.record(hit.endpoint, "fault"); // never answers
    if (fault === "rate_limited") {
      state.stats.record(hit.endpoint, "rate_limited");
      return rateLimited(res, provider, 1_000);
    }
    if (fault === "disconnect") {
      state.stats.record(hit.endpoint, "fault");
      return void req.socket.destroy();
    }
    if (fault === "5xx") {
      state.stats.record(hit.endpoint, "fault");
      return send(res, 502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>");
    }
    const answer = hit.answer(state.world, elapsed, fault);
    if (answer.status !== 200) {
      state.stats.record(hit.endpoint, answer.status === 404 ? "not_found" : "bad_request");
      return json(res, answer.status, answer.body);
    }
    let body = answer.body;
    if (fault === "renamed_field" && hit.endpoint === "geckoterminal.ohlcv") body = withRenamedOhlcvList(body);
    else if (fault === "renamed_field") body = withRenamedField(hit.endpoint as Exclude<Endpoint, "geckoterminal.ohlcv">, body);
    if (fault === "renamed_optional" && hit.endpoint === "dexscreener.tokens") body = withRenamedOptional(body);
    if (fault === "malformed_items" && hit.endpoint !== "geckoterminal.ohlcv") body = withMalformedItems(hit.endpoint, body);
    if (fault === "pair_cap_30" && Array.isArray(body)) body = body.slice(0, DEXSCREENER_PAIR_CAP);
    state.stats.record(hit.endpoint, applies ? "fault" : "ok");
    const text = JSON.stringify(body);
    send(res, 200, "application/json", fault === "malformed" ? text.slice(0, Math.floor(text.length / 2)) : text);
  };

  const admin = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> => {
    const key = `${req.method} ${url.pathname}`;
    if (key === "GET /__sim/stats") {
      return json(res, 200, { elapsedMs: elapsedMs(), endpoints: state.stats.snapshot(), faults: state.faults.list() });
    }
    if (key === "GET /__sim/tokens") return json(res, 200, { tokens: state.world.tokens });
    if (key === "POST /__sim/reset") {
      state = fresh();
      return json(res, 200, { reset: true });
    }
    const body = await readJson(req);
    if (key === "POST /__sim/faults") {
      const fault = faultSchema.safeParse(body);
      if (!fault.success) return json(res, 400, { error: z.prettifyError(fault.error) });
      state.faults.set(fault.data);
      return json(res, 200, { faults: state.faults.list() });
    }
    if (key === "POST /__sim/tokens") {
      const parsed = addTokensSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      const created = parsed.data.tokens.map((spec) => {
        const token = buildToken(seed, state.world.tokens.length, spec, elapsedMs());
        state.world.tokens.push(token);
        return token;
      });
      return json(res, 201, { tokens: created });
    }
    if (key === "POST /__sim/feed") {
      const parsed = feedSettingsSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      state.feed.configure(parsed.data, elapsedMs());
      return json(res, 200, { configured: true });
    }
    if (key === "POST /__sim/feed/calls") {
      const parsed = feedCallsSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      const added = state.feed.add(state.world, elapsedMs(), parsed.data.calls);
      return json(res, 201, { ids: added.map((entry) => entry.id) });
    }
    if (key === "POST /__sim/clock") {
      const parsed = clockSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      state.offsetMs += parsed.data.advanceMs;
      return json(res, 200, { elapsedMs: elapsedMs() });
    }
    json(res, 404, { error: "no such admin endpoint" });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://market-sim");
    if (url.pathname.startsWith("/__sim/")) return admin(req, url, res);
    if (req.method !== "GET") return json(res, 405, { error: "simulated endpoints are GET only" });
    market(req, url, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A SyntaxError here is an admin body that is not JSON.
      const status = error instanceof SyntaxError ? 400 : 500;
      if (!res.headersSent) json(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;

  return {
    url,
    geckoterminalUrl: `${url}/api/v2`,
    feedUrl: `${url}${FEED_CALLS}`,
    tokens: () => state.world.tokens,
    addFeedCalls: (calls) => state.feed.add(state.world, elapsedMs(), calls).map((entry) => entry.id),
    configureFeed: (settings) => state.feed.configure(settings, elapsedMs()),
    elapsedMs,
    advance: (ms) => {
      state.offsetMs += ms;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Held-open "timeout" requests and idle keep-alive sockets would otherwise delay close.
        server.closeAllConnections();
      }),
  };
}

type Route = { endpoint: Endpoint; answer: (world: World, elapsedMs: number, fault: Exclude<FaultKind, "none"> | null) => Answer };

const ohlcvFaultRng = streamFor(1, "ohlcv-faults");

function route(url: URL, feed: Feed, history: OhlcvHistory): Route | null {
  const path = url.pathname;
  if (path === FEED_CALLS) {
    return { endpoint: "feed.calls", answer: (world, elapsed, fault) => feed.answer(world, elapsed, url.searchParams, fault === "cursor_backwards") };
  }
  let match = DEX_TOKENS.exec(path);
  if (match) {
    const [chain, list] = [decodeURIComponent(match[1] ?? ""), addressList(match[2])];
    return { endpoint: "dexscreener.tokens", answer: (world, elapsed) => dexTokens(world, chain, list, elapsed) };
  }
  if (path === "/token-profiles/latest/v1") {
    return { endpoint: "dexscreener.profiles", answer: (world, elapsed) => dexProfiles(world, elapsed) };
  }
  match = GECKO_MULTI.exec(path);
  if (match) {
    const [network, list] = [decodeURIComponent(match[1] ?? ""), addressList(match[2])];
    return { endpoint: "geckoterminal.tokens_multi", answer: (world, elapsed) => geckoTokens(world, network, list, elapsed) };
  }
  match = GECKO_OHLCV.exec(path);
  if (match) {
    const [network, pool, unit] = [decodeURIComponent(match[1] ?? ""), decodeURIComponent(match[2] ?? ""), match[3] ?? ""];
    return {
      endpoint: "geckoterminal.ohlcv",
      answer: (world, elapsed, fault) =>
        geckoOhlcv(world, history, { network, pool, unit, params: url.searchParams }, elapsed, fault === "gaps" || fault === "revised_bar" ? fault : null, ohlcvFaultRng),
    };
  }
  match = GECKO_TRENDING.exec(path);
  if (match) {
    const network = decodeURIComponent(match[1] ?? "");
    const page = Math.min(10, Math.max(1, Math.trunc(Number(url.searchParams.get("page") ?? "1")) || 1));
    return { endpoint: "geckoterminal.trending_pools", answer: (world, elapsed) => geckoTrending(world, network, page, elapsed) };
  }
  return null;
}

/** Schema drift of the OHLCV answer: its list renamed. */
function withRenamedOhlcvList(body: unknown): unknown {
  const document = body as { data: { attributes: Record<string, unknown> } };
  const { ohlcv_list: list, ...rest } = document.data.attributes;
  return { ...document, data: { ...document.data, attributes: { ...rest, ohlcv: list } } };
}

function addressList(raw: string | undefined): string[] {
  const addresses = decodeURIComponent(raw ?? "").split(",").map((address) => address.trim()).filter(Boolean);
  return [...new Set(addresses)];
}

/** DexScreener answers a 429 from Cloudflare in plain text; GeckoTerminal in its JSON:API error shape. */
function rateLimited(res: ServerResponse, provider: Provider, waitMs: number): void {
  const headers = { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) };
  if (provider === "dexscreener") return send(res, 429, "text/plain", "error code: 1015", headers);
  send(res, 429, "application/json", JSON.stringify({ errors: [{ status: "429", title: "Rate Limited" }] }), headers);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json", JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": `${contentType}; charset=utf-8`, ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  return text === "" ? undefined : JSON.parse(text);
}
