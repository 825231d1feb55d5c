import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseTokenAliases } from "../../supabase/functions/_shared/credentials/aliases.ts";
import { CredentialError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { recordCredentialChecks } from "../../supabase/functions/_shared/credentials/status.ts";
import { tokenCache } from "../../supabase/functions/_shared/credentials/token-cache.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, hex, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let fx: CredentialsFixture | undefined;
const logs = captureLogs();
const allSecrets = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  if (!fx) return;
  for (const secret of fx.secrets()) allSecrets.add(secret);
  await fx.close();
  fx = undefined;
});
afterAll(async () => {
  logs.restore();
  await db.drop();
  expectNoSecrets(logs.lines(), [...allSecrets], "the log lines of credentials-md-token tests");
});

describe("Tradovate market-data token", () => {
  it("comes from the same login as the access token, with its expiry and Redis TTL, and is handed out by kind md", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store();
    const [access, mdToken] = await Promise.all([store.getToken("tv"), store.getToken("tv", { kind: "md" })]);
    expect(fx.tradovate.stats()).toMatchObject({ accessTokenRequests: 1, sessions: 1, mdTokensIssued: 1 });
    expect(mdToken).not.toBe(access);
    const info = fx.tradovate.mdToken(mdToken)!;
    const { token } = await tokenCache(fx.redis, fx.keyPrefix, "tv").read();
    expect(token).toMatchObject({ accessToken: access, mdAccessToken: mdToken, expiresAt: info.expiresAt });
    const ttl = await fx.redis.pttl(`${fx.keyPrefix}credentials:tv:token`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(info.expiresAt - Date.now() + 50);
    // Another isolate gets the same pair without logging in again.
    expect(await fx.store().getToken("tv", { kind: "md" })).toBe(mdToken);
    expect(fx.tradovate.stats().sessions).toBe(1);
  });

  it("a cached token without an md token (cached before this change) is replaced by a new session, not a renewal", async () => {
    fx = await credentialsFixture(db.sql);
    const cache = tokenCache(fx.redis, fx.keyPrefix, "tv");
    const old = await fx.store().getToken("tv");
    const { token } = await cache.read();
    const { mdAccessToken: _dropped, ...withoutMd } = token!;
    await fx.redis.set(`${fx.keyPrefix}credentials:tv:token`, JSON.stringify(withoutMd), "PX", 60_000);
    const md = await fx.store().getToken("tv", { kind: "md" });
    expect(fx.tradovate.mdToken(md)).not.toBeNull();
    expect(fx.tradovate.stats()).toMatchObject({ sessions: 2, renewals: 0 });
    expect(await fx.store().getToken("tv")).not.toBe(old);
  });

  it("a renewal extends the session and carries its md token forward with the new expiry; a renewal answer with one replaces it", async () => {
    fx = await credentialsFixture(db.sql);
    let offset = 0;
    const now = () => Date.now() + offset;
    const first = await fx.store({ now }).getToken("tv", { kind: "md" });
    offset = 4_300_000; // inside the 10-minute margin of an 80-minute token
    const carried = await fx.store({ now }).getToken("tv", { kind: "md" });
    expect(carried).toBe(first);
    expect(fx.tradovate.stats()).toMatchObject({ renewals: 1, sessions: 1, mdTokensIssued: 1 });
    const { token } = await tokenCache(fx.redis, fx.keyPrefix, "tv").read();
    expect(fx.tradovate.mdToken(carried)!.expiresAt).toBe(token!.expiresAt);
    for (const secret of fx.secrets()) allSecrets.add(secret);
    await fx.close();
    fx = await credentialsFixture(db.sql, { tradovate: { renewReturnsMdToken: true } });
    offset = 0;
    const before = await fx.store({ now }).getToken("tv", { kind: "md" });
    offset = 4_300_000;
    expect(await fx.store({ now }).getToken("tv", { kind: "md" })).not.toBe(before);
    expect(fx.tradovate.stats()).toMatchObject({ renewals: 1, sessions: 1, mdTokensIssued: 2 });
  });

  it("if Tradovate does not carry the md token through a renewal, the refused token is replaced by a new session", async () => {
    fx = await credentialsFixture(db.sql, { tradovate: { mdSurvivesRenewal: false, tokenLifetimeSeconds: 60 } });
    let offset = 0;
    const store = fx.store({ forcedRefreshMinIntervalMs: 0, now: () => Date.now() + offset });
    const first = await store.getToken("tv", { kind: "md" });
    offset = 40_000; // 20 s left: due (half the lifetime), still worth renewing
    const carried = await store.getToken("tv", { kind: "md" });
    expect(carried).toBe(first);
    expect(fx.tradovate.stats()).toMatchObject({ renewals: 1, sessions: 1 });
    // The stand-in let it keep its old expiry: the market-data socket would refuse it then.
    expect(fx.tradovate.mdToken(carried)!.expiresAt).toBeLessThan((await store.expiresAt("tv"))!);
    const fresh = await store.getToken("tv", { kind: "md", forceRefresh: true, rejected: carried });
    expect(fresh).not.toBe(carried);
    expect(fx.tradovate.mdToken(fresh)).not.toBeNull();
    expect(fx.tradovate.stats()).toMatchObject({ renewals: 1, sessions: 2 });
  });

  it("a rejected md token is refreshed once; only tradovate credentials have one", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store({ forcedRefreshMinIntervalMs: 0 });
    const first = await store.getToken("tv", { kind: "md" });
    fx.tradovate.expireMdTokens();
    const second = await store.getToken("tv", { kind: "md", forceRefresh: true, rejected: first });
    expect(second).not.toBe(first);
    expect(fx.tradovate.mdToken(second)).not.toBeNull();
    // A second caller with the same rejected token gets the new one without another login.
    expect(await fx.store().getToken("tv", { kind: "md", forceRefresh: true, rejected: first })).toBe(second);
    expect(fx.tradovate.stats().sessions).toBe(2);
    await expect(store.getToken("cc", { kind: "md" })).rejects.toThrow(CredentialError);
  });

  it("neither token reaches a table: credential_status holds the expiry and the outcome only", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store();
    const md = await store.getToken("tv", { kind: "md" });
    await recordCredentialChecks(db.sql, [await store.check("tv")]);
    const rows = await db.sql`select row_to_json(s)::text as row from peakwatch.credential_status s`;
    expect(rows.length).toBeGreaterThan(0);
    expectNoSecrets(rows.map((row) => String(row.row)), [md, await store.getToken("tv")], "peakwatch.credential_status");
  });
});

describe("token alias keys", () => {
  it("writes the access token to each alias key with a TTL equal to its real expiry, and restores a lost alias on the next check", async () => {
    fx = await credentialsFixture(db.sql);
    const alias = `token:ACCT-${hex(3)}`;
    const store = fx.store({ aliases: { tv: [alias] } });
    try {
      const access = await store.getToken("tv");
      expect(await fx.redis.get(alias)).toBe(access);
      const expiresAt = (await store.expiresAt("tv"))!;
      const ttl = await fx.redis.pttl(alias);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(expiresAt - Date.now() + 50);
      await fx.redis.del(alias);
      expect(await store.check("tv")).toMatchObject({ outcome: "fresh" });
      expect(await fx.redis.get(alias)).toBe(access);
    } finally {
      await fx.redis.del(alias);
    }
  });

  it("PEAKWATCH_TOKEN_ALIASES is parsed once; a key under peakwatch's own prefix or bad JSON is refused by name", () => {
    expect(parseTokenAliases(undefined, "peakwatch:")).toEqual({ aliases: {} });
    expect(parseTokenAliases('{"tv":["token:ACCT1","token:ACCT2"]}', "peakwatch:")).toEqual({ aliases: { tv: ["token:ACCT1", "token:ACCT2"] } });
    expect(parseTokenAliases('{"tv":["peakwatch:credentials:tv:token"]}', "peakwatch:")).toMatchObject({ error: expect.stringContaining("PEAKWATCH_REDIS_PREFIX") });
    expect(parseTokenAliases("{", "peakwatch:")).toEqual({ error: "not valid JSON" });
    expect(parseTokenAliases('{"tv":["has space"]}', "peakwatch:")).toMatchObject({ error: expect.stringContaining("tv.0") });
  });
});
