import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import type { RunRow } from "../../supabase/functions/_shared/db/rows.ts";
import { credentialsFixture, expectNoSecrets, hex, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestFunctions } from "../helpers/functions.ts";

const serviceKey = `test-service-${hex(12)}`;
let db: TestDatabase;
let fx: CredentialsFixture;
let server: FunctionsServer;
const answers: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await credentialsFixture(db.sql);
  for (const entry of fx.entries) {
    await db.sql`insert into peakwatch.credentials (name, strategy, config) values (${entry.name}, ${entry.strategy}, ${db.sql.json(entry.config as never)})`;
  }
  server = await startTestFunctions({ dbUrl: db.url, serviceKey, keyPrefix: fx.keyPrefix, env: fx.env });
});
afterAll(async () => {
  await server?.stop();
  if (fx) expectNoSecrets([server?.output() ?? "", ...answers], fx.secrets(), "the functions server's output and answers");
  await fx?.close();
  await db?.drop();
});

async function post(body: unknown, key = serviceKey) {
  const response = await fetch(`${server.url}/token-refresh`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  answers.push(text);
  return { status: response.status, body: JSON.parse(text) };
}

describe("token-refresh served by real Deno at /functions/v1/token-refresh", () => {
  it("refreshes every configured credential, records the run and caches each token in Redis with its real expiry", async () => {
    const { status, body } = await post({ trigger: "cron" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ outcome: "ok", counts: { credentials: 3, refreshed: 3, failed: 0 } });
    const [run] = await db.sql<RunRow[]>`select * from peakwatch.runs where id = ${body.runId}`;
    expect(run).toMatchObject({ function_name: "token-refresh", trigger: "cron", outcome: "ok" });
    for (const name of ["cc", "rt", "tv"]) {
      const ttl = await fx.redis.pttl(`${fx.keyPrefix}credentials:${name}:token`);
      expect(ttl, name).toBeGreaterThan(3_500_000);
    }
    expect(fx.tradovate.stats().sessions).toBe(1);
    const [chain] = await db.sql<{ version: number }[]>`select version from peakwatch.credential_refresh_tokens where name = 'rt'`;
    expect(chain?.version).toBe(2);
  });

  it("a second run finds the tokens fresh; a forced one renews the Tradovate session instead of opening another", async () => {
    expect((await post({})).body.counts).toMatchObject({ fresh: 3, refreshed: 0 });
    const forced = await post({ names: ["tv"], force: true });
    expect(forced.body.credentials[0]).toMatchObject({ name: "tv", outcome: "refreshed" });
    expect(fx.tradovate.stats()).toMatchObject({ sessions: 1, renewals: 1 });
  });

  it("is refused without the service key", async () => {
    expect((await post({}, "anon-key-that-is-not-the-service-key")).status).toBe(401);
  });
});
