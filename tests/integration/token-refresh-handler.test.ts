import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisUrl } from "../helpers/tracker.ts";
import { loadConfig } from "../../supabase/functions/_shared/config/config.ts";
import { createCredentialStoreFromEnv, credentialsEnv } from "../../supabase/functions/_shared/credentials/deps.ts";
import { createTokenRefreshHandler, type TokenRefreshDeps } from "../../supabase/functions/_shared/credentials/handler.ts";
import type { RunRow } from "../../supabase/functions/_shared/db/rows.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, hex, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const serviceKey = `test-service-${hex(12)}`;
let db: TestDatabase;
let fx: CredentialsFixture;
const logs = captureLogs();
const texts: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await credentialsFixture(db.sql);
  // Configured the way a deployment does it: rows in peakwatch.credentials, secrets in the environment.
  for (const entry of fx.entries) {
    await db.sql`insert into peakwatch.credentials (name, strategy, config) values (${entry.name}, ${entry.strategy}, ${db.sql.json(entry.config as never)})`;
  }
});
afterAll(async () => {
  logs.restore();
  const runs = await db.sql`select counts, error from peakwatch.runs`;
  const statuses = await db.sql`select * from peakwatch.credential_status`;
  texts.push(JSON.stringify(runs), JSON.stringify(statuses), ...logs.lines());
  expectNoSecrets(texts, fx.secrets(), "responses, runs, credential_status and log lines");
  await fx.close();
  await db.drop();
});

const deps = (read: (name: string) => string | undefined = (name) => fx.env[name]): TokenRefreshDeps => {
  const env = loadConfig(credentialsEnv, { SUPABASE_DB_URL: db.url, REDIS_URL: redisUrl(), PEAKWATCH_REDIS_PREFIX: fx.keyPrefix });
  return { sql: db.sql, keys: [serviceKey], store: createCredentialStoreFromEnv(db.sql, fx.redis, env, read) };
};
const handler = createTokenRefreshHandler(() => deps());

async function post(body: unknown, options: { key?: string; handle?: (request: Request) => Promise<Response> } = {}) {
  const request = new Request("http://functions.local/token-refresh", {
    method: "POST",
    headers: { Authorization: `Bearer ${options.key ?? serviceKey}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const response = await (options.handle ?? handler)(request);
  const text = await response.text();
  texts.push(text);
  return { status: response.status, body: JSON.parse(text) };
}
const run = async (id: number) => (await db.sql<RunRow[]>`select * from peakwatch.runs where id = ${id}`)[0]!;
const status = async (name: string) =>
  (await db.sql<{ last_outcome: string; last_error: string | null; consecutive_failures: number; expires_at: string | null; last_refreshed_at: string | null }[]>`
    select last_outcome, last_error, consecutive_failures, expires_at, last_refreshed_at from peakwatch.credential_status where name = ${name}`)[0];

describe("POST /token-refresh", () => {
  it("refreshes every credential without a valid token, reports seconds to expiry per credential and records the run", async () => {
    const { status: code, body } = await post({ trigger: "cron" });
    expect(code).toBe(200);
    expect(body).toMatchObject({ outcome: "ok", counts: { credentials: 3, refreshed: 3, fresh: 0, failed: 0, withoutValidToken: 0 } });
    expect(body.credentials.map((c: { name: string; outcome: string }) => [c.name, c.outcome])).toEqual([
      ["cc", "refreshed"],
      ["rt", "refreshed"],
      ["tv", "refreshed"],
    ]);
    for (const credential of body.credentials) expect(credential.secondsToExpiry).toBeGreaterThan(3_500);
    expect(await run(body.runId)).toMatchObject({ function_name: "token-refresh", trigger: "cron", outcome: "ok", counts: body.counts, error: null });
    expect(await status("cc")).toMatchObject({ last_outcome: "refreshed", consecutive_failures: 0, last_error: null });
  });

  it("under cron (async) it answers 202 with the run id at once and the run finishes in the background", async () => {
    const { status: code, body } = await post({ trigger: "cron", async: true });
    expect(code).toBe(202);
    expect(body).toEqual({ runId: expect.any(Number), status: "accepted" });
    for (let i = 0; i < 100 && (await run(body.runId)).outcome === "running"; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await run(body.runId)).toMatchObject({ function_name: "token-refresh", trigger: "cron", outcome: "ok", error: null });
  });

  it("a second run finds every token fresh and asks no upstream", async () => {
    const before = fx.oauth2.stats().tokenRequests + fx.tradovate.stats().accessTokenRequests;
    const { body } = await post({});
    expect(body.counts).toMatchObject({ fresh: 3, refreshed: 0 });
    expect(fx.oauth2.stats().tokenRequests + fx.tradovate.stats().accessTokenRequests).toBe(before);
    expect(await status("tv")).toMatchObject({ last_outcome: "fresh" });
  });

  it("a failing refresh keeps the old token while valid, and is counted in the run and kept in credential_status", async () => {
    fx.oauth2.setFault("5xx");
    const { status: code, body } = await post({ names: ["cc"], force: true });
    fx.oauth2.setFault("none");
    expect(code).toBe(503); // every credential asked for failed
    expect(body.credentials[0]).toMatchObject({ name: "cc", outcome: "failed", error: 'credential "cc": token endpoint answered 503' });
    expect(body.credentials[0].secondsToExpiry).toBeGreaterThan(3_000); // the old token, still valid
    const recorded = await run(body.runId);
    expect(recorded).toMatchObject({ outcome: "error", counts: { credentials: 1, failed: 1, withoutValidToken: 0 } });
    expect(recorded.error).toBe('1 of 1 failed: credential "cc": token endpoint answered 503');
    expect(await status("cc")).toMatchObject({ last_outcome: "failed", consecutive_failures: 1, last_error: 'credential "cc": token endpoint answered 503' });

    const partial = await post({ force: true });
    expect(partial.body.outcome).toBe("ok");
    expect(await status("cc")).toMatchObject({ last_outcome: "refreshed", consecutive_failures: 0, last_error: 'credential "cc": token endpoint answered 503' });
  });

  it("one failing credential among several makes the run partial", async () => {
    fx.tradovate.setFault("5xx");
    const { status: code, body } = await post({ force: true });
    fx.tradovate.setFault("none");
    expect(code).toBe(200);
    expect(body).toMatchObject({ outcome: "partial", counts: { credentials: 3, refreshed: 2, failed: 1 } });
    expect((await run(body.runId)).error).toMatch(/^1 of 3 failed: credential "tv": accesstokenrequest answered 502|^1 of 3 failed: credential "tv": renewaccesstoken answered 502/);
  });

  it("is refused without the service key", async () => {
    expect((await post({}, { key: "not-the-service-key-at-all" })).status).toBe(401);
  });

  it("an unknown credential asked for is a 400 naming it", async () => {
    const { status: code, body } = await post({ names: ["nope"] });
    expect(code).toBe(400);
    expect(body.error.message).toBe('unknown credential "nope" (configured: "cc", "rt", "tv")');
  });

  it("a missing secret variable is a not_configured answer and an error run, both naming the variable", async () => {
    const missing = createTokenRefreshHandler(() => deps((name) => (name === "PEAKWATCH_CREDENTIAL_TV_SEC" ? undefined : fx.env[name])));
    const { status: code, body } = await post({}, { handle: missing });
    expect(code).toBe(503);
    expect(body.error).toMatchObject({ code: "not_configured", message: expect.stringContaining("PEAKWATCH_CREDENTIAL_TV_SEC is not set") });
    const [last] = await db.sql<RunRow[]>`select * from peakwatch.runs order by id desc limit 1`;
    expect(last).toMatchObject({ outcome: "error", error: expect.stringContaining("PEAKWATCH_CREDENTIAL_TV_SEC") });
  });

  it("the database refuses a config that carries a secret under a usual name", async () => {
    await expect(
      db.sql`insert into peakwatch.credentials (name, strategy, config) values ('leaky', 'tradovate', ${db.sql.json({ password: "x" })})`,
    ).rejects.toThrow(/credentials_config_has_no_secrets/);
  });
});
