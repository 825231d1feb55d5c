import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CredentialUpstreamError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let fx: CredentialsFixture;
const closed = new WeakSet<CredentialsFixture>();
const logs = captureLogs();
const allSecrets = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  if (!fx || closed.has(fx)) return;
  closed.add(fx);
  for (const secret of fx.secrets()) allSecrets.add(secret);
  await fx.close();
});
afterAll(async () => {
  logs.restore();
  await db.drop();
  expectNoSecrets(logs.lines(), [...allSecrets], "the log lines of credentials-tradovate tests");
});

const clock = () => {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
};
const me = (fx: CredentialsFixture) => (token: string) => fetch(`${fx.tradovate.url}/auth/me`, { headers: { Authorization: `Bearer ${token}` } });

describe("Tradovate strategy", () => {
  it("opens one session with accesstokenrequest, then renews with the bearer before expiry instead of opening another", async () => {
    fx = await credentialsFixture(db.sql, { tradovate: { tokenLifetimeSeconds: 4_800 } });
    const time = clock();
    const store = fx.store({ now: time.now, defaultMarginMs: 900_000 });
    const first = await store.getToken("tv");
    expect(fx.tradovate.stats()).toMatchObject({ accessTokenRequests: 1, sessions: 1, renewals: 0 });
    time.advance(4_000_000); // 800 s left: inside the 15-minute margin Tradovate recommends
    const renewed = await store.getToken("tv");
    expect(renewed).not.toBe(first);
    expect(fx.tradovate.stats()).toMatchObject({ accessTokenRequests: 1, sessions: 1, renewals: 1 });
    expect((await me(fx)(renewed)).status).toBe(200);
  });

  it("honours a time penalty: waits p-time seconds and resends with the p-ticket", async () => {
    fx = await credentialsFixture(db.sql);
    fx.tradovate.setFault("penalty", { count: 1, pTimeSeconds: 1 });
    const started = Date.now();
    const token = await fx.store().getToken("tv");
    expect((await me(fx)(token)).status).toBe(200);
    const stats = fx.tradovate.stats();
    expect(stats).toMatchObject({ accessTokenRequests: 2, penaltiesIssued: 1, ticketsHonoured: 1, ticketsTooEarly: 0, sessions: 1 });
    expect(stats.ticketWaitsMs[0]).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(logs.events().some((event) => event.event === "credentials.penalty" && event.credential === "tv" && event.waitMs === 1_000)).toBe(true);
  });

  it("a captcha penalty fails the refresh at once and keeps the old token while it is valid", async () => {
    fx = await credentialsFixture(db.sql);
    const time = clock();
    const store = fx.store({ now: time.now });
    const first = await store.getToken("tv");
    fx.tradovate.setFault("renew_unauthorized");
    fx.tradovate.setFault("captcha");
    time.advance(4_300_000);
    const report = await store.check("tv");
    expect(report).toMatchObject({ outcome: "failed", error: expect.stringContaining("captcha") });
    expect(report.secondsToExpiry).toBeGreaterThan(0);
    expect(await store.getToken("tv")).toBe(first);
    expect(fx.tradovate.stats().ticketsHonoured).toBe(0);
  });

  it("a refused renewal (401) falls back to a new session", async () => {
    fx = await credentialsFixture(db.sql);
    const time = clock();
    const store = fx.store({ now: time.now });
    await store.getToken("tv");
    fx.tradovate.setFault("renew_unauthorized", { count: 1 });
    time.advance(4_300_000);
    expect(await store.check("tv")).toMatchObject({ outcome: "refreshed" });
    expect(fx.tradovate.stats()).toMatchObject({ renewalsRefused: 1, sessions: 2 });
  });

  it("a dead token (401 from the API) is replaced once through withToken", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store({ forcedRefreshMinIntervalMs: 0 });
    await store.getToken("tv");
    fx.tradovate.expireTokens();
    const response = await store.withToken("tv", me(fx));
    expect(response.status).toBe(200);
    expect(fx.tradovate.stats()).toMatchObject({ renewalsRefused: 1, sessions: 2, resource: { ok: 1, unauthorized: 1 } });
  });

  it("a wrong password is refused with Tradovate's errorText, never the password", async () => {
    fx = await credentialsFixture(db.sql);
    fx.tradovate.setFault("error_text");
    const error = (await fx.store().getToken("tv").catch((caught: unknown) => caught)) as CredentialUpstreamError;
    expect(error).toBeInstanceOf(CredentialUpstreamError);
    expect(error.message).toBe('credential "tv": accesstokenrequest refused: Incorrect username or password. Please try again, noting that passwords are case-sensitive.');
    expect(error.message).not.toContain(fx.env.PEAKWATCH_CREDENTIAL_TV_PASSWORD);
  });
});
