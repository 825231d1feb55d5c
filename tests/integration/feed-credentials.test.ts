import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialBearerSource, envBearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import { credentialsFixture, type CredentialsFixture, grants } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let fx: CredentialsFixture;
beforeAll(async () => {
  db = await createTestDatabase();
  fx = await credentialsFixture(db.sql);
});
afterAll(async () => {
  await fx.close();
  await db.drop();
});

const resourceStatus = async (token: string | null) =>
  (await fetch(fx.oauth2.resourceUrl, { headers: token ? { Authorization: `Bearer ${token}` } : {} })).status;

describe("http_feed bearer from the credential store", () => {
  it("a source naming a credential sends the store's access token, which the upstream accepts", async () => {
    const bearer = credentialBearerSource(fx.store(), envBearerSource(() => undefined));
    const token = await bearer.token({ source: "calls-feed", credential: "cc" });
    expect(await resourceStatus(token)).toBe(200);
    expect(await bearer.token({ source: "calls-feed", credential: "cc" })).toBe(token);
    expect(grants(fx, "client_credentials")).toBe(1);
  });

  it("after a 401 the source gets one renewed token, not the rejected one", async () => {
    // the store's guard against 401 storms is off here, so the renewal happens at once
    const bearer = credentialBearerSource(fx.store({ forcedRefreshMinIntervalMs: 0 }), envBearerSource(() => undefined));
    const rejected = await bearer.token({ source: "calls-feed", credential: "cc" });
    const before = grants(fx, "client_credentials");
    const renewed = await bearer.token({ source: "calls-feed", credential: "cc" }, { refresh: true, rejected: rejected ?? undefined });
    expect(renewed).not.toBe(rejected);
    expect(grants(fx, "client_credentials")).toBe(before + 1);
    expect(await resourceStatus(renewed)).toBe(200);
  });

  it("sources without a credential keep their static token from the environment", async () => {
    const bearer = credentialBearerSource(fx.store(), envBearerSource((name) => (name === "PEAKWATCH_FEED_TOKEN_X" ? "static-token" : undefined)));
    expect(await bearer.token({ source: "static-feed", tokenEnv: "PEAKWATCH_FEED_TOKEN_X" })).toBe("static-token");
    expect(await bearer.token({ source: "open-feed" })).toBeNull();
  });
});
