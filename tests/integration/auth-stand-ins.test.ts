import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOAuth2StandIn, type OAuth2StandIn } from "../../dev/auth-stand-ins/oauth2-server.ts";
import { startTradovateStandIn, type TradovateStandIn } from "../../dev/auth-stand-ins/tradovate-server.ts";
import { oauth2ErrorResponse, oauth2TokenResponse } from "../../supabase/functions/_shared/credentials/oauth2.ts";
import { readTradovateAnswer } from "../../supabase/functions/_shared/credentials/tradovate.ts";

let oauth2: OAuth2StandIn;
let tradovate: TradovateStandIn;
const user = { name: "demo", password: "pw-stand-in", sec: "sec-stand-in", cid: 8 };

beforeAll(async () => {
  oauth2 = await startOAuth2StandIn({ port: 0, clients: { app: "app-secret" }, refreshTokens: ["seed-1"], accessTokenTtlSeconds: 5, reuseIntervalSeconds: 1 });
  tradovate = await startTradovateStandIn({ port: 0, user, tokenLifetimeSeconds: 5 });
});
afterAll(async () => {
  await Promise.all([oauth2.close(), tradovate.close()]);
});

const tokenRequest = (form: Record<string, string>, basic: string | null = "app:app-secret") =>
  fetch(oauth2.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...(basic ? { Authorization: `Basic ${btoa(basic)}` } : {}) },
    body: new URLSearchParams(form),
  });
const admin = (base: string, path: string, body?: unknown) =>
  fetch(`${base}/__admin/${path}`, body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const accessTokenRequest = (body: Record<string, unknown>) =>
  fetch(`${tradovate.url}/auth/accesstokenrequest`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const credentials = { name: user.name, password: user.password, appId: "peakwatch", appVersion: "1.0", cid: user.cid, sec: user.sec };

describe("OAuth2 stand-in speaks RFC 6749", () => {
  it("answers client credentials with a §5.1 token response marked no-store, and protects /resource with it", async () => {
    const response = await tokenRequest({ grant_type: "client_credentials", scope: "feeds:read" });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = oauth2TokenResponse.parse(await response.json());
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 5, scope: "feeds:read" });
    expect((await fetch(oauth2.resourceUrl, { headers: { Authorization: `Bearer ${body.access_token}` } })).status).toBe(200);
    const refused = await fetch(oauth2.resourceUrl, { headers: { Authorization: "Bearer nope" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("refuses a wrong client with 401 invalid_client and an unknown grant with 400 unsupported_grant_type", async () => {
    const wrong = await tokenRequest({ grant_type: "client_credentials" }, "app:wrong");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect(oauth2ErrorResponse.parse(await wrong.json()).error).toBe("invalid_client");
    const unknown = await tokenRequest({ grant_type: "password" });
    expect(await unknown.json()).toEqual({ error: "unsupported_grant_type" });
  });

  it("rotates refresh tokens: the old one works again only inside the reuse interval", async () => {
    const first = oauth2TokenResponse.parse(await (await tokenRequest({ grant_type: "refresh_token", refresh_token: "seed-1" })).json());
    expect(first.refresh_token).toMatch(/^rt_/);
    expect((await tokenRequest({ grant_type: "refresh_token", refresh_token: "seed-1" })).status).toBe(200); // inside 1 s
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = await tokenRequest({ grant_type: "refresh_token", refresh_token: "seed-1" });
    expect(late.status).toBe(400);
    expect(await late.json()).toEqual({ error: "invalid_grant" });
    expect(oauth2.stats().reusedWithinInterval).toBe(1);
  });

  it("takes faults and reports counters over HTTP", async () => {
    expect((await admin(oauth2.url, "faults", { kind: "5xx", count: 1 })).status).toBe(200);
    const failed = await tokenRequest({ grant_type: "client_credentials" });
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("1");
    expect((await tokenRequest({ grant_type: "client_credentials" })).status).toBe(200);
    const stats = await (await admin(oauth2.url, "stats")).json();
    expect(stats).toMatchObject({ faults: 1, byGrant: { client_credentials: 3, refresh_token: 3, password: 1 } });
    expect((await admin(oauth2.url, "faults", { kind: "sideways" })).status).toBe(400);
  });
});

describe("Tradovate stand-in speaks Tradovate's auth wire format", () => {
  it("answers accesstokenrequest with a token and ISO expirationTime; renews with the bearer (GET or POST)", async () => {
    const answer = readTradovateAnswer("tv", await (await accessTokenRequest(credentials)).json());
    expect(answer.kind).toBe("token");
    const token = answer.kind === "token" ? answer.token : null;
    expect(token!.expiresAt - Date.now()).toBeGreaterThan(4_000);
    for (const method of ["GET", "POST"]) {
      const renewed = await fetch(`${tradovate.url}/auth/renewaccesstoken`, { method, headers: { Authorization: `Bearer ${token!.accessToken}` } });
      expect(readTradovateAnswer("tv", await renewed.json()).kind).toBe("token");
    }
    expect((await fetch(`${tradovate.url}/auth/renewaccesstoken`, { headers: { Authorization: "Bearer dead" } })).status).toBe(401);
  });

  it("answers a wrong password with HTTP 200 and errorText", async () => {
    const response = await accessTokenRequest({ ...credentials, password: "wrong" });
    expect(response.status).toBe(200);
    expect(readTradovateAnswer("tv", await response.json())).toMatchObject({ kind: "error" });
  });

  it("issues a time penalty on demand; the ticket early is penalised again, after p-time it is honoured", async () => {
    expect((await admin(tradovate.url.replace(/\/v1$/, ""), "faults", { kind: "penalty", count: 1, pTimeSeconds: 1 })).status).toBe(200);
    const penalty = await (await accessTokenRequest(credentials)).json();
    expect(penalty).toMatchObject({ "p-time": 1 });
    expect(penalty["p-captcha"]).toBeUndefined();
    const early = await (await accessTokenRequest({ ...credentials, "p-ticket": penalty["p-ticket"] })).json();
    expect(early).toMatchObject({ "p-ticket": penalty["p-ticket"] });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const honoured = await (await accessTokenRequest({ ...credentials, "p-ticket": penalty["p-ticket"] })).json();
    expect(readTradovateAnswer("tv", honoured).kind).toBe("token");
    expect(tradovate.stats()).toMatchObject({ penaltiesIssued: 1, ticketsTooEarly: 1, ticketsHonoured: 1 });
  });

  it("a captcha penalty says p-captcha", async () => {
    tradovate.setFault("captcha", { count: 1 });
    expect(await (await accessTokenRequest(credentials)).json()).toMatchObject({ "p-captcha": true, "p-time": 15 });
  });
});
