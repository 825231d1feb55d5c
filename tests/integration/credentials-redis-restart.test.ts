import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, type Redis, RedisUnreachableError } from "../../supabase/functions/_shared/limits/redis.ts";
import { sleep } from "../../supabase/functions/_shared/limits/sleep.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, grants, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { freePort } from "../../dev/lib/ports.ts";

// A Redis of this file's own (never the shared one on 6379), without persistence: a restart loses every key.
let port: number;
let server: ChildProcess;
let redis: Redis;
let db: TestDatabase;
let fx: CredentialsFixture;
const logs = captureLogs();

async function startRedis(): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: "ignore" });
  const probe = createRedis(`redis://127.0.0.1:${port}`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await probe.ping();
        return child;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(100);
      }
    }
  } finally {
    probe.disconnect();
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  server = await startRedis();
  redis = createRedis(`redis://127.0.0.1:${port}`);
  db = await createTestDatabase();
  fx = await credentialsFixture(db.sql, { redis });
});
afterAll(async () => {
  logs.restore();
  const secrets = fx.secrets();
  await fx.close();
  redis.disconnect();
  await stopRedis(server);
  await db.drop();
  expectNoSecrets(logs.lines(), secrets, "the log lines of the Redis restart test");
});

describe("Redis restarted mid-run", () => {
  it("calls fail fast with a clear error while it is down, and the next call after it is back recovers every strategy", async () => {
    const store = fx.store();
    const before = await Promise.all(["cc", "rt", "tv"].map((name) => store.getToken(name)));
    expect(await redis.dbsize()).toBeGreaterThan(0);

    await stopRedis(server);
    const started = Date.now();
    const down = await store.getToken("cc").catch((caught: unknown) => caught);
    expect(down).toBeInstanceOf(RedisUnreachableError);
    expect((down as Error).message).toMatch(new RegExp(`^Redis unreachable at 127\\.0\\.0\\.1:${port} \\(`));
    expect(Date.now() - started).toBeLessThan(5_000);

    server = await startRedis();
    const after = await Promise.all(["cc", "rt", "tv"].map((name) => store.getToken(name)));
    // Every key was lost, so each credential was fetched anew — the rotated refresh token from Postgres, not the spent seed.
    after.forEach((token, i) => expect(token).not.toBe(before[i]));
    expect(grants(fx, "client_credentials")).toBe(2);
    expect(grants(fx, "refresh_token")).toBe(2);
    expect(fx.oauth2.stats().errors.invalid_grant).toBeUndefined();
    expect(fx.tradovate.stats().sessions).toBe(2);
    const [chain] = await db.sql<{ version: number }[]>`select version from peakwatch.credential_refresh_tokens where name = 'rt'`;
    expect(chain?.version).toBe(3);
    // And the single-flight lock works on the new server as before.
    await redis.del(`${fx.keyPrefix}credentials:cc:token`);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => fx.store().getToken("cc")));
    expect(new Set(tokens).size).toBe(1);
    expect(grants(fx, "client_credentials")).toBe(3);
  });
});
