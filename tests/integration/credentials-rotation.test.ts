import { cipherFromEnv } from "../../supabase/functions/_shared/credentials/encryption.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { postgresRefreshTokens } from "../../supabase/functions/_shared/credentials/refresh-tokens.ts";
import { fingerprint, Secret } from "../../supabase/functions/_shared/credentials/secret.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, grants, hex, type CredentialsFixture } from "../helpers/credentials.ts";
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
  await db.sql`truncate peakwatch.credential_refresh_tokens`;
  if (!fx || closed.has(fx)) return;
  closed.add(fx);
  for (const secret of fx.secrets()) allSecrets.add(secret);
  await fx.close();
});
afterAll(async () => {
  logs.restore();
  await db.drop();
  expectNoSecrets(logs.lines(), [...allSecrets], "the log lines of credentials-rotation tests");
});

const chain = async () => {
  const [row] = await db.sql<{ token: string; version: number }[]>`select token, version from peakwatch.credential_refresh_tokens where name = 'rt'`;
  return row;
};

/** What a killed process leaves in Redis: nothing (its lock runs out; it never wrote a failure). */
const forgetTheDeadProcess = async () => {
  const keys = await fx.redis.keys(`${fx.keyPrefix}credentials:rt:*`);
  if (keys.length > 0) await fx.redis.del(...keys);
};

/** A fetch that lets the request reach the server, then dies before its caller sees the answer: a process killed mid-refresh. */
const dyingAfterTheAnswer = (times: number): typeof fetch => {
  let left = times;
  return async (input, init) => {
    const response = await fetch(input, init);
    await response.text();
    if (left-- > 0) throw new Error("process killed after the upstream answered");
    return response;
  };
};

describe("rotating refresh tokens", () => {
  it("every refresh rotates the refresh token and Postgres follows the chain; the seed is spent", async () => {
    fx = await credentialsFixture(db.sql);
    const store = fx.store();
    for (let i = 0; i < 3; i++) expect(await store.check("rt", { force: true })).toMatchObject({ outcome: "refreshed" });
    const stored = await chain();
    expect(stored?.version).toBe(4);
    // Stored sealed (AES-GCM); it opens to the one token the server still accepts.
    expect(stored?.token).toMatch(/^pwenc:v1:/);
    expect(fx.oauth2.liveRefreshTokens()).toEqual([await (await cipherFromEnv()).open("rt", stored!.token)]);
    expect(fx.oauth2.liveRefreshTokens()).not.toContain(fx.env.PEAKWATCH_CREDENTIAL_RT_REFRESH_TOKEN);
    expect(grants(fx, "refresh_token")).toBe(3);
  });

  it("Redis losing every key keeps the chain: the refresh token lives in Postgres", async () => {
    fx = await credentialsFixture(db.sql);
    await fx.store().getToken("rt");
    const keys = await fx.redis.keys(`${fx.keyPrefix}*`);
    await fx.redis.del(...keys);
    expect(await fx.store().getToken("rt")).toMatch(/^at_/);
    expect(fx.oauth2.stats().errors.invalid_grant).toBeUndefined();
    expect((await chain())?.version).toBe(3);
  });

  it("a process killed after the server rotated, before storing, loses nothing inside the server's reuse interval", async () => {
    fx = await credentialsFixture(db.sql, { oauth2: { reuseIntervalSeconds: 30 } });
    await expect(fx.store({ fetch: dyingAfterTheAnswer(1) }).getToken("rt")).rejects.toThrow('credential "rt": network error');
    expect((await chain())?.version).toBe(1); // the seed: the rotated token never reached us
    await forgetTheDeadProcess();

    // The next isolate sends the stored (rotated, still in its grace period) token and the chain goes on.
    expect(await fx.store().getToken("rt")).toMatch(/^at_/);
    expect(fx.oauth2.stats().reusedWithinInterval).toBe(1);
    expect((await chain())?.version).toBe(2);
    expect(await fx.store().check("rt", { force: true })).toMatchObject({ outcome: "refreshed" });
    expect(fx.oauth2.stats().errors.invalid_grant).toBeUndefined();
  });

  it("without a reuse interval the broken chain is a clear error naming the variable to re-seed, and re-seeding mends it", async () => {
    fx = await credentialsFixture(db.sql);
    await fx.store({ fetch: dyingAfterTheAnswer(1) }).getToken("rt").catch(() => {});
    await forgetTheDeadProcess();
    const error = (await fx.store().getToken("rt").catch((caught: unknown) => caught)) as Error;
    expect(error.message).toBe(
      'credential "rt": token endpoint answered 400 (invalid_grant); if the refresh token was revoked or its chain lost, set a new PEAKWATCH_CREDENTIAL_RT_REFRESH_TOKEN to re-seed it',
    );

    const reseed = `seed-${hex(12)}`;
    fx.oauth2.addRefreshToken(reseed);
    fx.env.PEAKWATCH_CREDENTIAL_RT_REFRESH_TOKEN = reseed;
    await forgetTheDeadProcess(); // the invalid_grant's back-off, which an operator re-seeding would wait out
    expect(await fx.store().getToken("rt")).toMatch(/^at_/);
    expect((await chain())?.version).toBe(3); // seed 1 → re-seed 2 → rotation 3
  });

  it("a rotation is stored only over the version it was made from, so a stale refresher cannot put back an older token", async () => {
    const vault = postgresRefreshTokens(db.sql);
    const seed = new Secret(`seed-${hex(8)}`);
    const first = await vault.current("rt", seed);
    expect(first.version).toBe(1);
    expect(await vault.rotate("rt", 1, "rotated-by-the-live-holder")).toBe(true);
    expect(await vault.rotate("rt", 1, "rotated-by-a-stale-holder")).toBe(false);
    const now = await vault.current("rt", seed);
    expect({ token: now.token.reveal(), version: now.version }).toEqual({ token: "rotated-by-the-live-holder", version: 2 });
    const [row] = await db.sql<{ seed_fingerprint: string }[]>`select seed_fingerprint from peakwatch.credential_refresh_tokens where name = 'rt'`;
    expect(row?.seed_fingerprint).toBe(await fingerprint(seed.reveal()));
  });

  it("two refreshers racing on one version: exactly one rotation is kept", async () => {
    const vault = postgresRefreshTokens(db.sql);
    await vault.current("rt", new Secret("seed-race-0001"));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => vault.rotate("rt", 1, `candidate-${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await chain())?.version).toBe(2);
  });
});
