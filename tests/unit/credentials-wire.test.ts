import { describe, expect, it } from "vitest";
import { CredentialUpstreamError, CredentialWaitTimeoutError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { backoffAfter } from "../../supabase/functions/_shared/credentials/store.ts";
import { oauth2ErrorResponse, oauth2TokenResponse, requestOAuth2Token } from "../../supabase/functions/_shared/credentials/oauth2.ts";
import { Secret } from "../../supabase/functions/_shared/credentials/secret.ts";
import { readTradovateAnswer, tradovateAccessTokenRequest, tradovateRenew } from "../../supabase/functions/_shared/credentials/tradovate.ts";
import { jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const NOW = Date.parse("2026-11-26T00:00:00Z");
const oauth2Config = {
  strategy: "oauth2_client_credentials" as const,
  token_url: "https://auth.example.com/oauth/token",
  client_id: "peak watch",
  client_auth: "basic" as const,
};
const call = (fetch: typeof globalThis.fetch) => ({ fetch, timeoutMs: 1_000, now: () => NOW });
const tradovateConfig = {
  strategy: "tradovate" as const,
  base_url: "https://demo.tradovateapi.com/v1",
  username: "demo",
  app_id: "peakwatch",
  app_version: "1.0",
  cid: 8,
  device_id: "device-1",
};
const tradovateSecrets = { password: new Secret("pw-123456"), sec: new Secret("sec-123456") };
const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail("expected a rejection"), (error: unknown) => error as CredentialUpstreamError);

describe("OAuth2 token responses (RFC 6749)", () => {
  it("reads the client credentials and refresh examples of RFC 6749 §4.4.3 and §5.1", () => {
    expect(oauth2TokenResponse.parse(loadFixture("oauth2/rfc6749-4.4.3-client-credentials.json"))).toMatchObject({
      access_token: "2YotnFZFEjr1zCsicMWpAA",
      expires_in: 3600,
    });
    expect(oauth2TokenResponse.parse(loadFixture("oauth2/rfc6749-5.1-with-refresh-token.json")).refresh_token).toBe("tGzv3JOkF0XG5Qx2TlKWIA");
  });

  it("reads expires_in sent as a string, as Azure AD v1 does", () => {
    expect(oauth2TokenResponse.parse(loadFixture("oauth2/azure-ad-v1-client-credentials.json")).expires_in).toBe(3599);
  });

  it("reads the error code of an RFC 6749 §5.2 error", () => {
    expect(oauth2ErrorResponse.parse(loadFixture("oauth2/rfc6749-5.2-error.json")).error).toBe("invalid_request");
  });

  it("sends HTTP Basic with the form-encoded id and secret, and the grant as a form; expiry counts from the request", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("oauth2/rfc6749-4.4.3-client-credentials.json")));
    const grant = await requestOAuth2Token("feed", oauth2Config, { grant_type: "client_credentials", scope: "a b" }, new Secret("s:é"), call(fetch));
    expect(grant).toEqual({ accessToken: "2YotnFZFEjr1zCsicMWpAA", expiresAt: NOW + 3_600_000, refreshToken: undefined });
    const init = fetch.inits[0]!;
    const headers = init.headers as Record<string, string>;
    expect(headers.Authorization).toBe(`Basic ${btoa("peak%20watch:s%3A%C3%A9")}`);
    expect(headers["Content-Type"]).toBe("application/x-www-form-urlencoded");
    expect(String(init.body)).toBe("grant_type=client_credentials&scope=a+b");
    expect(init.method).toBe("POST");
  });

  it("client_auth post puts the id and secret in the body instead", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("oauth2/rfc6749-5.1-with-refresh-token.json")));
    const grant = await requestOAuth2Token("feed", { ...oauth2Config, client_auth: "post" }, { grant_type: "refresh_token", refresh_token: "r1" }, new Secret("s"), call(fetch));
    expect(grant.refreshToken).toBe("tGzv3JOkF0XG5Qx2TlKWIA");
    expect((fetch.inits[0]!.headers as Record<string, string>).Authorization).toBeUndefined();
    expect(new URLSearchParams(String(fetch.inits[0]!.body)).get("client_secret")).toBe("s");
  });

  it("a 4xx is 'rejected' with the RFC error code and nothing else of the body", async () => {
    const fetch = stubFetch(() => jsonResponse({ error: "invalid_grant", error_description: "token tGzv3 expired" }, { status: 400 }));
    const error = await failure(requestOAuth2Token("feed", oauth2Config, { grant_type: "client_credentials" }, new Secret("s"), call(fetch)));
    expect(error).toBeInstanceOf(CredentialUpstreamError);
    expect(error).toMatchObject({ kind: "rejected", status: 400 });
    expect(error.message).toBe('credential "feed": token endpoint answered 400 (invalid_grant)');
  });

  it("a 5xx is 'unavailable' and carries Retry-After", async () => {
    const fetch = stubFetch(() => new Response("<html>503</html>", { status: 503, headers: { "retry-after": "7" } }));
    const error = await failure(requestOAuth2Token("feed", oauth2Config, { grant_type: "client_credentials" }, new Secret("s"), call(fetch)));
    expect(error).toMatchObject({ kind: "unavailable", status: 503, retryAfterMs: 7_000 });
  });

  it("an answer without expires_in needs the credential's default_expires_in_seconds", async () => {
    const body = { access_token: "abc", token_type: "Bearer" };
    const missing = await failure(requestOAuth2Token("feed", oauth2Config, { grant_type: "client_credentials" }, new Secret("s"), call(stubFetch(() => jsonResponse(body)))));
    expect(missing).toMatchObject({ kind: "schema" });
    const withDefault = await requestOAuth2Token("feed", { ...oauth2Config, default_expires_in_seconds: 60 }, { grant_type: "client_credentials" }, new Secret("s"), call(stubFetch(() => jsonResponse(body))));
    expect(withDefault.expiresAt).toBe(NOW + 60_000);
  });

  it("a schema failure names the fields, never their values", async () => {
    const fetch = stubFetch(() => jsonResponse({ access_token: 12345678901234, expires_in: 10 }));
    const error = await failure(requestOAuth2Token("feed", oauth2Config, { grant_type: "client_credentials" }, new Secret("s"), call(fetch)));
    expect(error.message).toContain("access_token");
    expect(error.message).not.toContain("12345678901234");
  });
});

describe("Tradovate auth answers", () => {
  it("reads the documented accesstokenrequest success with its ISO expirationTime and the market-data token", () => {
    expect(readTradovateAnswer("tv", loadFixture("tradovate/accesstokenrequest-ok.json"))).toEqual({
      kind: "token",
      token: { accessToken: "token_value", mdAccessToken: "market_data_token", expiresAt: Date.parse("2021-06-15T15:40:30.056Z") },
    });
  });

  it("reads a token before errorText: the documented renewal example carries a placeholder errorText", () => {
    expect(readTradovateAnswer("tv", loadFixture("tradovate/renewaccesstoken-ok-partner-docs.json"))).toMatchObject({ kind: "token" });
  });

  it("tells a time penalty and a refusal (both HTTP 200) from a token", () => {
    expect(readTradovateAnswer("tv", loadFixture("tradovate/penalty-captcha.json"))).toMatchObject({ kind: "penalty", penalty: { "p-time": 19, "p-captcha": true } });
    expect(readTradovateAnswer("tv", loadFixture("tradovate/error-incorrect-password.json"))).toMatchObject({ kind: "error" });
    expect(() => readTradovateAnswer("tv", { hello: 1 })).toThrow(CredentialUpstreamError);
  });

  it("a time penalty is waited out for p-time seconds and the same body is resent with the ticket", async () => {
    const recorded = loadFixture("tradovate/penalty-captcha.json") as Record<string, unknown>;
    const { "p-captcha": _captcha, ...penalty } = recorded;
    const answers = [jsonResponse(penalty), jsonResponse({ accessToken: "tok-1", expirationTime: "2026-11-26T01:20:00.000Z" })];
    const fetch = stubFetch(() => answers.shift()!);
    const slept: number[] = [];
    const token = await tradovateAccessTokenRequest("tv", tradovateConfig, tradovateSecrets, {
      fetch,
      timeoutMs: 1_000,
      maxPenaltyWaitMs: 30_000,
      sleep: async (ms) => void slept.push(ms),
    });
    expect(token).toEqual({ accessToken: "tok-1", expiresAt: Date.parse("2026-11-26T01:20:00.000Z") });
    expect(slept).toEqual([19_000]);
    expect(fetch.urls).toEqual([`${tradovateConfig.base_url}/auth/accesstokenrequest`, `${tradovateConfig.base_url}/auth/accesstokenrequest`]);
    const [first, second] = fetch.inits.map((init) => JSON.parse(String(init.body)) as Record<string, unknown>);
    expect(first).toEqual({ name: "demo", password: "pw-123456", appId: "peakwatch", appVersion: "1.0", cid: 8, sec: "sec-123456", deviceId: "device-1" });
    expect(second).toEqual({ ...first, "p-ticket": penalty["p-ticket"] });
  });

  it("a captcha penalty fails at once (a third party cannot solve it) and says to retry in an hour", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("tradovate/penalty-captcha.json")));
    const error = await failure(tradovateAccessTokenRequest("tv", tradovateConfig, tradovateSecrets, { fetch, timeoutMs: 1_000, maxPenaltyWaitMs: 30_000, sleep: async () => {} }));
    expect(error).toMatchObject({ kind: "penalty", retryAfterMs: 3_600_000 });
    expect(fetch.urls).toHaveLength(1);
  });

  it("a penalty longer than we may wait fails without waiting and without leaking the ticket", async () => {
    const fetch = stubFetch(() => jsonResponse({ "p-ticket": "ticket-should-not-show", "p-time": 90 }));
    const error = await failure(tradovateAccessTokenRequest("tv", tradovateConfig, tradovateSecrets, { fetch, timeoutMs: 1_000, maxPenaltyWaitMs: 30_000, sleep: async () => expect.fail("no wait") }));
    expect(error).toMatchObject({ kind: "penalty", retryAfterMs: 90_000 });
    expect(error.message).not.toContain("ticket-should-not-show");
  });

  it("a wrong password is 'rejected' with Tradovate's errorText", async () => {
    const fetch = stubFetch(() => jsonResponse(loadFixture("tradovate/error-incorrect-password.json")));
    const error = await failure(tradovateAccessTokenRequest("tv", tradovateConfig, tradovateSecrets, { fetch, timeoutMs: 1_000, maxPenaltyWaitMs: 0, sleep: async () => {} }));
    expect(error).toMatchObject({ kind: "rejected" });
    expect(error.message).toContain("Incorrect username or password");
  });

  it("renewal is a GET with the current token as bearer; a 401 answers null (open a new session), a 5xx throws", async () => {
    const ok = stubFetch(() => jsonResponse(loadFixture("tradovate/renewaccesstoken-ok-partner-docs.json")));
    await expect(tradovateRenew("tv", tradovateConfig, "current-token", { fetch: ok, timeoutMs: 1_000 })).resolves.toMatchObject({ accessToken: "string" });
    expect(ok.urls[0]).toBe(`${tradovateConfig.base_url}/auth/renewaccesstoken`);
    expect(ok.inits[0]).toMatchObject({ method: "GET", headers: { Authorization: "Bearer current-token" } });
    await expect(tradovateRenew("tv", tradovateConfig, "t", { fetch: stubFetch(() => new Response("", { status: 401 })), timeoutMs: 1_000 })).resolves.toBeNull();
    await expect(tradovateRenew("tv", tradovateConfig, "t", { fetch: stubFetch(() => new Response("", { status: 502 })), timeoutMs: 1_000 })).rejects.toMatchObject({ kind: "unavailable" });
  });
});

describe("back-off after a failed refresh", () => {
  it("is what the upstream said when it said it, a few seconds for an outage, longer for a refusal", () => {
    expect(backoffAfter(new CredentialUpstreamError("x", "unavailable", "answered 503", 503, 7_000))).toBe(7_000);
    expect(backoffAfter(new CredentialUpstreamError("x", "penalty", "captcha", 200, 3_600_000))).toBe(3_600_000);
    expect(backoffAfter(new CredentialUpstreamError("x", "unavailable", "timeout"))).toBe(5_000);
    expect(backoffAfter(new CredentialUpstreamError("x", "rejected", "answered 400 (invalid_grant)", 400))).toBe(30_000);
    expect(backoffAfter(new CredentialUpstreamError("x", "unavailable", "answered 503", 503, 0))).toBe(1_000);
    expect(backoffAfter(new CredentialWaitTimeoutError("x", 100))).toBe(0);
  });
});
