/**
 * A local OAuth2 authorization server speaking RFC 6749 on the wire: `POST /oauth/token` with
 * `client_credentials` and `refresh_token` grants (form-encoded; client auth by HTTP Basic or in the
 * body), §5.1 answers with `Cache-Control: no-store`, §5.2 errors. Refresh tokens rotate, optionally
 * with a reuse interval like Auth0's or Okta's. `GET /resource` is a protected resource (RFC 6750
 * 401 for a bad bearer) for 401-and-retry tests. Loopback only; every token is random and local.
 *
 * Admin: POST /__admin/faults {kind: "5xx"|"timeout"|"invalid_grant"|"slow"|"none", count?, delayMs?}
 *        GET /__admin/stats · POST /__admin/revoke (all access tokens) · POST /__admin/refresh-tokens {token, clientId?}
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { bearerOf, close, delay, FaultQueue, json, listen, opaqueToken, readText, send } from "./http.ts";

export interface OAuth2StandInOptions {
  port?: number;
  host?: string;
  /** client_id → client_secret. */
  clients?: Record<string, string>;
  accessTokenTtlSeconds?: number;
  /** Refresh tokens valid from the start (the seeds operators would paste into env), for the first client. */
  refreshTokens?: string[];
  rotateRefreshTokens?: boolean;
  /** How long a rotated refresh token is still accepted; 0 = dead at once. */
  reuseIntervalSeconds?: number;
  /** Every token answer waits this long (so concurrent callers overlap). */
  responseDelayMs?: number;
}

type FaultKind = "5xx" | "timeout" | "invalid_grant" | "slow";

export interface OAuth2Stats {
  tokenRequests: number;
  byGrant: Record<string, number>;
  issued: { accessTokens: number; refreshTokens: number };
  errors: Record<string, number>;
  faults: number;
  /** Rotated refresh tokens accepted again inside the reuse interval. */
  reusedWithinInterval: number;
  resource: { ok: number; unauthorized: number };
}

export interface OAuth2StandIn {
  url: string;
  tokenUrl: string;
  resourceUrl: string;
  stats(): OAuth2Stats;
  /** Every secret it holds or issued (client secrets, refresh and access tokens): tests assert none leaks. */
  secrets(): string[];
  setFault(kind: FaultKind | "none", options?: { count?: number; delayMs?: number }): void;
  addRefreshToken(token: string, clientId?: string): void;
  revokeAccessTokens(): void;
  /** The refresh tokens a client may still use (active, or rotated but inside the reuse interval). */
  liveRefreshTokens(): string[];
  close(): Promise<void>;
}

const faultBody = z.object({
  kind: z.enum(["5xx", "timeout", "invalid_grant", "slow", "none"]),
  count: z.int().min(1).optional(),
  delayMs: z.int().min(0).max(120_000).optional(),
});
const refreshTokenBody = z.object({ token: z.string().min(1), clientId: z.string().optional() });

interface RefreshRecord {
  clientId: string;
  rotatedAt: number | null;
}

export async function startOAuth2StandIn(options: OAuth2StandInOptions = {}): Promise<OAuth2StandIn> {
  const clients = options.clients ?? { "peakwatch-local": "local-client-secret" };
  const firstClient = Object.keys(clients)[0] ?? "peakwatch-local";
  const ttlSeconds = options.accessTokenTtlSeconds ?? 3600;
  const rotate = options.rotateRefreshTokens ?? true;
  const reuseMs = (options.reuseIntervalSeconds ?? 0) * 1000;
  const accessTokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  const refreshTokens = new Map<string, RefreshRecord>((options.refreshTokens ?? []).map((token) => [token, { clientId: firstClient, rotatedAt: null }]));
  const faults = new FaultQueue<FaultKind>();
  const stats: OAuth2Stats = {
    tokenRequests: 0,
    byGrant: {},
    issued: { accessTokens: 0, refreshTokens: 0 },
    errors: {},
    faults: 0,
    reusedWithinInterval: 0,
    resource: { ok: 0, unauthorized: 0 },
  };

  const oauthError = (res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}) => {
    stats.errors[error] = (stats.errors[error] ?? 0) + 1;
    json(res, status, { error }, { "cache-control": "no-store", pragma: "no-cache", ...headers });
  };

  /** RFC 6749 §2.3.1: Basic with form-encoded id and secret, or both in the body. */
  const authenticate = (req: IncomingMessage, form: URLSearchParams): string | null => {
    const basic = req.headers.authorization?.match(/^Basic\s+(.+)$/i)?.[1];
    let id: string | null = form.get("client_id");
    let secret: string | null = form.get("client_secret");
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      id = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
    return id !== null && secret !== null && clients[id] === secret ? id : null;
  };

  const issue = (res: ServerResponse, clientId: string, withRefresh: boolean, scope: string | null) => {
    const accessToken = opaqueToken("at");
    accessTokens.set(accessToken, { expiresAt: Date.now() + ttlSeconds * 1000, revoked: false });
    stats.issued.accessTokens += 1;
    const body: Record<string, unknown> = { access_token: accessToken, token_type: "Bearer", expires_in: ttlSeconds };
    if (withRefresh) {
      const refreshToken = opaqueToken("rt");
      refreshTokens.set(refreshToken, { clientId, rotatedAt: null });
      stats.issued.refreshTokens += 1;
      body.refresh_token = refreshToken;
    }
    if (scope) body.scope = scope;
    json(res, 200, body, { "cache-control": "no-store", pragma: "no-cache" });
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    stats.tokenRequests += 1;
    const fault = faults.take((kind) => kind !== "invalid_grant");
    if (fault) stats.faults += 1;
    if (fault?.kind === "timeout") return; // never answers
    if (fault?.kind === "5xx") return send(res, 503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>", { "retry-after": "1" });
    const wait = (fault?.kind === "slow" ? Number(fault.params.delayMs ?? 1_000) : 0) + (options.responseDelayMs ?? 0);
    if (wait > 0) await delay(wait);
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "")) return oauthError(res, 400, "invalid_request");
    const form = new URLSearchParams(await readText(req));
    const grant = form.get("grant_type") ?? "";
    stats.byGrant[grant] = (stats.byGrant[grant] ?? 0) + 1;
    const clientId = authenticate(req, form);
    if (!clientId) return oauthError(res, 401, "invalid_client", { "www-authenticate": 'Basic realm="oauth2-stand-in"' });

    if (grant === "client_credentials") return issue(res, clientId, false, form.get("scope"));
    if (grant !== "refresh_token") return oauthError(res, 400, "unsupported_grant_type");
    const presented = form.get("refresh_token");
    if (!presented) return oauthError(res, 400, "invalid_request");
    const record = refreshTokens.get(presented);
    if (faults.take((kind) => kind === "invalid_grant") || !record || record.clientId !== clientId) return oauthError(res, 400, "invalid_grant");
    if (record.rotatedAt !== null) {
      if (Date.now() - record.rotatedAt > reuseMs) return oauthError(res, 400, "invalid_grant");
      stats.reusedWithinInterval += 1;
    }
    if (rotate) record.rotatedAt ??= Date.now();
    issue(res, clientId, rotate, form.get("scope"));
  };

  const resource = (req: IncomingMessage, res: ServerResponse) => {
    const bearer = bearerOf(req);
    const known = bearer ? accessTokens.get(bearer) : undefined;
    if (!known || known.revoked || known.expiresAt <= Date.now()) {
      stats.resource.unauthorized += 1;
      return json(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
    }
    stats.resource.ok += 1;
    json(res, 200, { ok: true });
  };

  const revokeAccessTokens = () => {
    for (const record of accessTokens.values()) record.revoked = true;
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const key = `${req.method} ${url.pathname}`;
    if (key === "GET /__admin/stats") return json(res, 200, stats);
    if (key === "POST /__admin/revoke") {
      revokeAccessTokens();
      return json(res, 200, { revoked: accessTokens.size });
    }
    const body: unknown = JSON.parse((await readText(req)) || "{}");
    if (key === "POST /__admin/faults") {
      const parsed = faultBody.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      faults.set(parsed.data.kind, parsed.data.count, parsed.data.delayMs === undefined ? {} : { delayMs: parsed.data.delayMs });
      return json(res, 200, { faults: faults.current() });
    }
    if (key === "POST /__admin/refresh-tokens") {
      const parsed = refreshTokenBody.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      refreshTokens.set(parsed.data.token, { clientId: parsed.data.clientId ?? firstClient, rotatedAt: null });
      return json(res, 201, { added: true });
    }
    json(res, 404, { error: "no such admin endpoint" });
  };

  const { server, url } = await listen(async (req, res, url) => {
    if (url.pathname.startsWith("/__admin/")) return admin(req, res, url);
    if (url.pathname === "/oauth/token" && req.method === "POST") return token(req, res);
    if (url.pathname === "/resource" && req.method === "GET") return resource(req, res);
    json(res, 404, { error: "not_found" });
  }, options.port, options.host);

  return {
    url,
    tokenUrl: `${url}/oauth/token`,
    resourceUrl: `${url}/resource`,
    stats: () => structuredClone(stats),
    secrets: () => [...Object.values(clients), ...refreshTokens.keys(), ...accessTokens.keys()],
    setFault: (kind, fault = {}) => faults.set(kind, fault.count, fault.delayMs === undefined ? {} : { delayMs: fault.delayMs }),
    addRefreshToken: (refreshToken, clientId = firstClient) => void refreshTokens.set(refreshToken, { clientId, rotatedAt: null }),
    revokeAccessTokens,
    liveRefreshTokens: () =>
      [...refreshTokens.entries()].filter(([, record]) => record.rotatedAt === null || Date.now() - record.rotatedAt <= reuseMs).map(([refreshToken]) => refreshToken),
    close: () => close(server),
  };
}
