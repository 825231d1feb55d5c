/**
 * A local stand-in for Tradovate's auth endpoints, in their wire format (base URL ends in /v1):
 *   POST /auth/accesstokenrequest  {name, password, appId, appVersion, cid, sec, deviceId?, "p-ticket"?}
 *        → 200 {accessToken, mdAccessToken, expirationTime, userStatus, userId, name, ...}
 *        → 200 {"p-ticket", "p-time", "p-captcha"?}  time penalty: resend with the ticket after p-time s
 *        → 200 {errorText}                          wrong credentials
 *   GET|POST /auth/renewaccesstoken  Authorization: Bearer → 200 {accessToken, expirationTime, ...} | 401
 *        (no mdAccessToken, as Tradovate documents the answer; `renewReturnsMdToken` adds one). A
 *        renewal extends the session, and with it the session's md token (`mdSurvivesRenewal: false`
 *        lets the md token die at its old expiry instead).
 *   GET /auth/me                     a protected resource (401 for a dead token)
 *   GET /contract/find?name=NQZ6     {id, name, contractMaturityId} | null (quarterly months of ES, MES, NQ, MNQ by CME's roll rule)
 *   GET /contract/suggest?t=NQ&l=5   [{id, name, ...}] front month first
 * Loopback only; tokens are random and local.
 *
 * The mdAccessToken of a session lives as long as its access token; the market-data stand-in
 * (dev/tradovate-md) asks `mdToken()` whether one is alive and whose it is.
 *
 * Admin: POST /__admin/faults {kind: "penalty"|"captcha"|"5xx"|"timeout"|"error_text"|"renew_unauthorized"|"none", count?, pTimeSeconds?}
 *        GET /__admin/stats · POST /__admin/expire (every token dies now) · POST /__admin/expire-md (every md token dies now)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { CONTRACT_SYMBOL, frontMonth, QUARTERLY_PRODUCTS } from "../../supabase/functions/_shared/providers/tradovate-md/contracts.ts";
import { bearerOf, close, delay, FaultQueue, json, listen, opaqueToken, readText, send } from "./http.ts";

export interface TradovateUser {
  name: string;
  password: string;
  sec: string;
  cid: number;
}

export interface TradovateStandInOptions {
  port?: number;
  host?: string;
  user?: TradovateUser;
  /** Tradovate's tokens live 80–90 minutes; tests use seconds. */
  tokenLifetimeSeconds?: number;
  responseDelayMs?: number;
  /** Tradovate documents the renewal answer without an mdAccessToken; true adds a new one to it. */
  renewReturnsMdToken?: boolean;
  mdSurvivesRenewal?: boolean;
}

type FaultKind = "penalty" | "captcha" | "5xx" | "timeout" | "error_text" | "renew_unauthorized";

export interface TradovateStats {
  accessTokenRequests: number;
  /** Successful accesstokenrequests: each opens a session (Tradovate keeps two). */
  sessions: number;
  renewals: number;
  renewalsRefused: number;
  penaltiesIssued: number;
  ticketsHonoured: number;
  /** Tickets presented before their p-time had passed (answered with the penalty again). */
  ticketsTooEarly: number;
  /** How long after its penalty each honoured ticket came back, in ms. */
  ticketWaitsMs: number[];
  resource: { ok: number; unauthorized: number };
  mdTokensIssued: number;
}

export interface MdTokenInfo {
  userId: number;
  name: string;
  expiresAt: number;
}

export interface TradovateStandIn {
  /** Base URL including /v1, as credentials config `base_url` takes it. */
  url: string;
  stats(): TradovateStats;
  secrets(): string[];
  setFault(kind: FaultKind | "none", options?: { count?: number; pTimeSeconds?: number }): void;
  expireTokens(): void;
  /** Kills every market-data token now (access tokens live on). */
  expireMdTokens(): void;
  /** Whose market-data token this is and until when; null when unknown or expired. */
  mdToken(token: string): MdTokenInfo | null;
  /** Revokes one market-data token (what Tradovate does to the oldest connection over the limit). */
  revokeMdToken(token: string): void;
  close(): Promise<void>;
}

const INCORRECT = "Incorrect username or password. Please try again, noting that passwords are case-sensitive.";
const faultBody = z.object({
  kind: z.enum(["penalty", "captcha", "5xx", "timeout", "error_text", "renew_unauthorized", "none"]),
  count: z.int().min(1).optional(),
  pTimeSeconds: z.number().min(0).max(3_600).optional(),
});
const tokenRequest = z.looseObject({
  name: z.string(),
  password: z.string(),
  appId: z.string().optional(),
  appVersion: z.string().optional(),
  cid: z.union([z.number(), z.string()]),
  sec: z.string(),
  deviceId: z.string().optional(),
  "p-ticket": z.string().optional(),
});

export async function startTradovateStandIn(options: TradovateStandInOptions = {}): Promise<TradovateStandIn> {
  const user = options.user ?? { name: "peakwatch-demo", password: "local-password", sec: "local-api-secret", cid: 8 };
  const lifetimeMs = (options.tokenLifetimeSeconds ?? 4_800) * 1000;
  const tokens = new Map<string, number>();
  const mdTokens = new Map<string, number>();
  /** The md token of each access token's session. */
  const sessionMd = new Map<string, string>();
  const tickets = new Map<string, { until: number; issuedAt: number }>();
  const issuedSecrets: string[] = [];
  const faults = new FaultQueue<FaultKind>();
  const stats: TradovateStats = {
    accessTokenRequests: 0,
    sessions: 0,
    renewals: 0,
    renewalsRefused: 0,
    penaltiesIssued: 0,
    ticketsHonoured: 0,
    ticketsTooEarly: 0,
    ticketWaitsMs: [],
    resource: { ok: 0, unauthorized: 0 },
    mdTokensIssued: 0,
  };
  const userId = 15460;

  const newToken = () => {
    const accessToken = opaqueToken("tv");
    const expiresAt = Date.now() + lifetimeMs;
    tokens.set(accessToken, expiresAt);
    issuedSecrets.push(accessToken);
    return { accessToken, expirationTime: new Date(expiresAt).toISOString(), expiresAt };
  };
  const newMdToken = (expiresAt: number) => {
    const mdAccessToken = opaqueToken("md");
    mdTokens.set(mdAccessToken, expiresAt);
    issuedSecrets.push(mdAccessToken);
    stats.mdTokensIssued += 1;
    return mdAccessToken;
  };
  const expireMd = () => {
    for (const token of mdTokens.keys()) mdTokens.set(token, 0);
  };
  const alive = (req: IncomingMessage) => {
    const bearer = bearerOf(req);
    const expiresAt = bearer ? tokens.get(bearer) : undefined;
    return expiresAt !== undefined && expiresAt > Date.now();
  };
  const penalty = (res: ServerResponse, pTimeSeconds: number, captcha: boolean) => {
    const ticket = Buffer.from(opaqueToken("pt")).toString("base64");
    tickets.set(ticket, { until: Date.now() + pTimeSeconds * 1000, issuedAt: Date.now() });
    issuedSecrets.push(ticket);
    stats.penaltiesIssued += 1;
    json(res, 200, { "p-ticket": ticket, "p-time": pTimeSeconds, ...(captcha ? { "p-captcha": true } : {}) });
  };

  const accessTokenRequest = async (req: IncomingMessage, res: ServerResponse) => {
    stats.accessTokenRequests += 1;
    const parsed = tokenRequest.safeParse(JSON.parse((await readText(req)) || "null"));
    if (!parsed.success) return json(res, 400, { errorText: "Invalid request body" });
    const body = parsed.data;
    const presented = body["p-ticket"];
    const ticket = presented ? tickets.get(presented) : undefined;
    if (presented && ticket) {
      const remainingMs = ticket.until - Date.now();
      if (remainingMs > 0) {
        stats.ticketsTooEarly += 1;
        return json(res, 200, { "p-ticket": presented, "p-time": Math.ceil(remainingMs / 1000) });
      }
      tickets.delete(presented);
      stats.ticketsHonoured += 1;
      stats.ticketWaitsMs.push(Date.now() - ticket.issuedAt);
    } else {
      const fault = faults.take((kind) => kind === "penalty" || kind === "captcha" || kind === "error_text");
      if (fault?.kind === "penalty") return penalty(res, Number(fault.params.pTimeSeconds ?? 1), false);
      if (fault?.kind === "captcha") return penalty(res, Number(fault.params.pTimeSeconds ?? 15), true);
      if (fault?.kind === "error_text") return json(res, 200, { errorText: INCORRECT });
    }
    if (body.name !== user.name || body.password !== user.password || body.sec !== user.sec || Number(body.cid) !== user.cid) {
      return json(res, 200, { errorText: INCORRECT });
    }
    stats.sessions += 1;
    const token = newToken();
    json(res, 200, {
      accessToken: token.accessToken,
      mdAccessToken: (() => {
        const md = newMdToken(token.expiresAt);
        sessionMd.set(token.accessToken, md);
        return md;
      })(),
      expirationTime: token.expirationTime,
      userStatus: "Active",
      userId,
      name: user.name,
      hasLive: false,
      outdatedTaC: false,
      hasFunded: false,
      hasMarketData: true,
      outdatedLiquidationPolicy: false,
    });
  };

  const renew = (req: IncomingMessage, res: ServerResponse) => {
    const refused = faults.take((kind) => kind === "renew_unauthorized");
    if (refused || !alive(req)) {
      stats.renewalsRefused += 1;
      return send(res, 401, "text/plain", "");
    }
    stats.renewals += 1;
    const { accessToken, expirationTime, expiresAt } = newToken();
    const previousMd = sessionMd.get(bearerOf(req) ?? "");
    let md = {};
    if (options.renewReturnsMdToken) md = { mdAccessToken: newMdToken(expiresAt) };
    else if (previousMd && options.mdSurvivesRenewal !== false && (mdTokens.get(previousMd) ?? 0) > Date.now()) mdTokens.set(previousMd, expiresAt);
    const sessionToken = "mdAccessToken" in md ? (md as { mdAccessToken: string }).mdAccessToken : previousMd;
    if (sessionToken) sessionMd.set(accessToken, sessionToken);
    json(res, 200, { accessToken, ...md, expirationTime, userStatus: "Active", userId, name: user.name, hasLive: false });
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const key = `${req.method} ${url.pathname}`;
    if (key === "GET /__admin/stats") return json(res, 200, stats);
    if (key === "POST /__admin/expire") {
      for (const token of tokens.keys()) tokens.set(token, 0);
      return json(res, 200, { expired: tokens.size });
    }
    if (key === "POST /__admin/expire-md") {
      expireMd();
      return json(res, 200, { expired: mdTokens.size });
    }
    if (key === "POST /__admin/faults") {
      const parsed = faultBody.safeParse(JSON.parse((await readText(req)) || "{}"));
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      const { kind, count, pTimeSeconds } = parsed.data;
      faults.set(kind, count, pTimeSeconds === undefined ? {} : { pTimeSeconds });
      return json(res, 200, { faults: faults.current() });
    }
    json(res, 404, { error: "no such admin endpoint" });
  };

  const { server, url } = await listen(async (req, res, url) => {
    if (url.pathname.startsWith("/__admin/")) return admin(req, res, url);
    const fault = faults.take((kind) => kind === "5xx" || kind === "timeout");
    if (fault?.kind === "timeout") return; // never answers
    if (fault?.kind === "5xx") return send(res, 502, "text/html", "<html><body>502 Bad Gateway</body></html>");
    if (options.responseDelayMs) await delay(options.responseDelayMs);
    const path = url.pathname.toLowerCase();
    if (path === "/v1/auth/accesstokenrequest" && req.method === "POST") return accessTokenRequest(req, res);
    // Tradovate documents GET; some clients POST, which it accepts too.
    if (path === "/v1/auth/renewaccesstoken" && (req.method === "GET" || req.method === "POST")) return renew(req, res);
    if (path === "/v1/auth/me" && req.method === "GET") {
      if (!alive(req)) {
        stats.resource.unauthorized += 1;
        return send(res, 401, "text/plain", "");
      }
      stats.resource.ok += 1;
      return json(res, 200, { userId, name: user.name, fullName: "Peakwatch Demo", email: "demo@example.invalid", emailVerified: true, isTrial: false });
    }
    if ((path === "/v1/contract/find" || path === "/v1/contract/suggest") && req.method === "GET") {
      if (!alive(req)) {
        stats.resource.unauthorized += 1;
        return send(res, 401, "text/plain", "");
      }
      stats.resource.ok += 1;
      return path.endsWith("/find") ? json(res, 200, contractByName(url.searchParams.get("name") ?? "")) : json(res, 200, suggestContracts(url.searchParams.get("t") ?? "", Number(url.searchParams.get("l") ?? 5)));
    }
    json(res, 404, { errorText: "Not found" });
  }, options.port, options.host);

  return {
    url: `${url}/v1`,
    stats: () => structuredClone(stats),
    secrets: () => [user.password, user.sec, ...issuedSecrets],
    setFault: (kind, fault = {}) => faults.set(kind, fault.count, fault.pTimeSeconds === undefined ? {} : { pTimeSeconds: fault.pTimeSeconds }),
    expireTokens: () => {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
    expireMdTokens: expireMd,
    revokeMdToken(token) {
      if (mdTokens.has(token)) mdTokens.set(token, 0);
    },
    mdToken(token) {
      const expiresAt = mdTokens.get(token);
      return expiresAt !== undefined && expiresAt > Date.now() ? { userId, name: user.name, expiresAt } : null;
    },
    close: () => close(server),
  };
}

/** A stable id per contract symbol, like Tradovate's numeric contract ids. */
const contractId = (name: string) => 2_000_000 + [...name].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) % 1_000_000, 7);
const contractItem = (name: string) => ({ id: contractId(name), name, contractMaturityId: contractId(name) % 100_000, status: "DefinitionChecked", providerTickSize: 0.25 });

/** The stand-in lists the quarterly months of the four equity-index products, from the current front month on. */
function contractByName(name: string) {
  const match = CONTRACT_SYMBOL.exec(name);
  const product = match?.[1] ?? "";
  if (!match || !(QUARTERLY_PRODUCTS as readonly string[]).includes(product) || !"HMUZ".includes(match[2]!)) return null;
  return contractItem(name);
}

function suggestContracts(text: string, limit: number) {
  const product = (QUARTERLY_PRODUCTS as readonly string[]).find((known) => known === text.toUpperCase());
  if (!product) return [];
  const front = frontMonth(product, new Date());
  return [front.contract, front.next].slice(0, Math.max(1, Math.min(limit, 2))).map(contractItem);
}
