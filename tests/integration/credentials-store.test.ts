import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CredentialUpstreamError, CredentialWaitTimeoutError, UnknownCredentialError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { createRedis, RedisUnreachableError } from "../../supabase/functions/_shared/limits/redis.ts";
import { sleep } from "../../supabase/functions/_shared/limits/sleep.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, grants, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { freePort } from "../../dev/lib/ports.ts";

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
  expectNoSecrets(logs.lines(), [...allSecrets], "the log lines of credentials-store tests");
  expect(logs.events().some((event) => event.event === "credentials.refreshed")).toBe(true);
});

/** A clock the test moves; Redis and the stand-ins keep real time, which only makes tokens look older to the store. */
const clock = () => {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
};

const tokenKey = (name: string) => `${fx.keyPrefix}credentials:${name}:token`;

describe("getToken", () => {
  it.each([
    ["cc", "OAuth2 client credentials"],
    ["rt", "OAuth2 refresh token"],
    ["tv", "Tradovate"],
  ])("50 concurrent getToken calls at expiry make exactly one upstream request and all get the new token (%s, %s)", async (name) => {
    fx = await credentialsFixture(db.sql, { oauth2: { responseDelayMs: 150 }, tradovate: { responseDelayMs: 150 } });
    const upstream = () => grants(fx, "client_credentials") + grants(fx, "refresh_token") + fx.tradovate.stats().accessTokenRequests;
    // Five stores are five isolates: they share only Redis.
    const stores = Array.from({ length: 5 }, () => fx.store());
    const first = await stores[0]!.getToken(name);
    await fx.redis.del(tokenKey(name)); // the key's TTL is the token's expiry: gone = expired
    const before = upstream();

    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 5]!.getToken(name)));

    expect(upstream() - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
  });

  it("stores the token with its real expiry as the key's TTL", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { accessTokenTtlSeconds: 120 } });
    await fx.store().getToken("cc");
    const ttl = await fx.redis.pttl(tokenKey("cc"));
    expect(ttl).toBeGreaterThan(115_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it("outside the margin no request is made; inside it the token is refreshed ahead of expiry", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { accessTokenTtlSeconds: 3_600 } });
    const time = clock();
    const store = fx.store({ now: time.now, defaultMarginMs: 600_000 });
    const first = await store.getToken("cc");
    time.advance(2_900_000); // 700 s left: outside the 600 s margin
    expect(await store.getToken("cc")).toBe(first);
    expect(grants(fx, "client_credentials")).toBe(1);
    time.advance(200_000); // 500 s left: inside it, and still valid
    const second = await store.getToken("cc");
    expect(second).not.toBe(first);
    expect(grants(fx, "client_credentials")).toBe(2);
  });

  it("a token living shorter than the margin is refreshed at half its life, not on every call", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { accessTokenTtlSeconds: 60 } });
    const time = clock();
    const store = fx.store({ now: time.now, defaultMarginMs: 600_000 });
    const first = await store.getToken("cc");
    time.advance(20_000);
    expect(await store.getToken("cc")).toBe(first);
    time.advance(15_000);
    expect(await store.getToken("cc")).not.toBe(first);
  });

  it("upstream 5xx: the old token is kept while it is valid and the failure is logged; once it expired the error surfaces", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { accessTokenTtlSeconds: 3_600 } });
    const time = clock();
    const store = fx.store({ now: time.now });
    const first = await store.getToken("cc");
    fx.oauth2.setFault("5xx");
    time.advance(3_300_000); // inside the margin
    expect(await store.getToken("cc")).toBe(first);
    expect(fx.oauth2.stats().faults).toBe(1);
    expect(logs.events().filter((event) => event.event === "credentials.refresh_failed" && event.credential === "cc").at(-1)).toMatchObject({ keptValidToken: true });
    time.advance(400_000); // past the old token's expiry, still inside the back-off the 503's Retry-After set
    const error = await store.getToken("cc").catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('credential "cc": token endpoint answered 503; next attempt in 1 s');
    expect(fx.oauth2.stats().tokenRequests).toBe(2);
    await sleep(1_100);
    const after = await store.getToken("cc").catch((caught: unknown) => caught);
    expect(after).toBeInstanceOf(CredentialUpstreamError);
    expect((after as Error).message).toBe('credential "cc": token endpoint answered 503');
    expect(fx.oauth2.stats().tokenRequests).toBe(3);
  });

  it("after a failed refresh nobody asks the upstream again until the back-off has passed; the old token serves meanwhile", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { accessTokenTtlSeconds: 3_600 } });
    const time = clock();
    const stores = Array.from({ length: 5 }, () => fx.store({ now: time.now }));
    const first = await stores[0]!.getToken("cc");
    time.advance(3_300_000);
    fx.oauth2.setFault("5xx");
    for (let i = 0; i < 20; i++) expect(await stores[i % 5]!.getToken("cc")).toBe(first);
    expect(fx.oauth2.stats().tokenRequests).toBe(2);
    expect(await stores[0]!.check("cc")).toMatchObject({ outcome: "failed", error: expect.stringMatching(/answered 503; next attempt in 1 s$/) });
    expect(fx.oauth2.stats().tokenRequests).toBe(2);
    fx.oauth2.setFault("none");
    await sleep(1_100);
    expect(await stores[1]!.getToken("cc")).not.toBe(first);
    expect(fx.oauth2.stats().tokenRequests).toBe(3);
  });

  it("callers waiting on a failing holder stop as soon as it fails, with one upstream request", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { responseDelayMs: 200 } });
    fx.oauth2.setFault("5xx", { count: 1 });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => fx.store({ waitMs: 10_000 }).getToken("cc")));
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(grants(fx, "client_credentials") + fx.oauth2.stats().faults).toBeLessThanOrEqual(1);
    expect(fx.oauth2.stats().tokenRequests).toBe(1);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("a holder that died leaves its lock to run out, and the next caller takes over", async () => {
    fx = await credentialsFixture(db.sql);
    await fx.redis.set(`${fx.keyPrefix}credentials:cc:lock`, "crashed-isolate", "PX", 300);
    expect(await fx.store({ waitMs: 5_000 }).getToken("cc")).toMatch(/^at_/);
    expect(fx.oauth2.stats().tokenRequests).toBe(1);
  });

  it("a waiter gives up after its wait bound with a clear error", async () => {
    fx = await credentialsFixture(db.sql);
    await fx.redis.set(`${fx.keyPrefix}credentials:cc:lock`, "slow-isolate", "PX", 30_000);
    const started = Date.now();
    await expect(fx.store({ waitMs: 400 }).getToken("cc")).rejects.toBeInstanceOf(CredentialWaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("an unknown credential name is an error naming it", async () => {
    fx = await credentialsFixture(db.sql);
    await expect(fx.store().getToken("nope")).rejects.toThrow(UnknownCredentialError);
    await expect(fx.store().getToken("nope")).rejects.toThrow('unknown credential "nope" (configured: "cc", "rt", "tv")');
  });

  it("Redis unreachable fails with a clear error within a bounded time, and check() reports it", async () => {
    fx = await credentialsFixture(db.sql);
    const port = await freePort();
    const dead = createRedis(`redis://127.0.0.1:${port}`);
    const store = fx.store({ redis: dead });
    const started = Date.now();
    const error = await store.getToken("cc").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toBe(`Redis unreachable at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await store.check("cc")).toMatchObject({ outcome: "failed", error: expect.stringContaining("Redis unreachable"), expiresAt: null });
    dead.disconnect();
  });
});

describe("withToken", () => {
  const resource = (url: string) => (token: string) => fetch(url, { headers: { Authorization: `Bearer ${token}` } });

  it("a 401 forces one refresh and one retry with the new token", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store({ forcedRefreshMinIntervalMs: 0 });
    await store.getToken("cc");
    fx.oauth2.revokeAccessTokens();
    const response = await store.withToken("cc", resource(fx.oauth2.resourceUrl));
    expect(response.status).toBe(200);
    expect(fx.oauth2.stats().resource).toEqual({ ok: 1, unauthorized: 1 });
    expect(grants(fx, "client_credentials")).toBe(2);
  });

  it("50 concurrent callers that all got a 401 cause one refresh", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { responseDelayMs: 100 } });
    const stores = Array.from({ length: 5 }, () => fx.store({ forcedRefreshMinIntervalMs: 0 }));
    await stores[0]!.getToken("cc");
    fx.oauth2.revokeAccessTokens();
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 5]!.withToken("cc", resource(fx.oauth2.resourceUrl))));
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    expect(grants(fx, "client_credentials")).toBe(2);
  });

  it("a token rejected right after it was issued is not refreshed again: the 401 reaches the caller", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store({ forcedRefreshMinIntervalMs: 60_000 });
    await store.getToken("cc");
    fx.oauth2.revokeAccessTokens();
    const response = await store.withToken("cc", resource(fx.oauth2.resourceUrl));
    expect(response.status).toBe(401);
    expect(grants(fx, "client_credentials")).toBe(1);
  });

  it("an error carrying status 401 (as providers' UpstreamError does) counts as a 401 too", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store({ forcedRefreshMinIntervalMs: 0 });
    const seen: string[] = [];
    const result = await store.withToken("cc", async (token) => {
      seen.push(token);
      if (seen.length === 1) throw Object.assign(new Error("feed answered 401"), { status: 401 });
      return "ok";
    });
    expect(result).toBe("ok");
    expect(new Set(seen).size).toBe(2);
  });
});
