import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../supabase/functions/_shared/config/config.ts";
import { secretVariable } from "../../supabase/functions/_shared/credentials/definitions.ts";
import { UnknownCredentialError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { buildRegistry, cachedRegistry, type CredentialEntry, entriesFromEnv } from "../../supabase/functions/_shared/credentials/registry.ts";
import { Secret } from "../../supabase/functions/_shared/credentials/secret.ts";

const entry = (name: string, strategy: string, config: Record<string, unknown>, extra: Partial<CredentialEntry> = {}): CredentialEntry => ({
  name,
  strategy,
  config,
  enabled: true,
  source: "database",
  ...extra,
});
const cc = (name = "feed-a") => entry(name, "oauth2_client_credentials", { token_url: "https://auth.example.com/oauth/token", client_id: "peakwatch" });
const tv = (name = "broker") =>
  entry(name, "tradovate", { base_url: "https://demo.tradovateapi.com/v1", username: "demo", app_id: "peakwatch", app_version: "1.0", cid: 8 });
const env = (values: Record<string, string>) => (name: string) => values[name];

const configError = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("credential definitions", () => {
  it("secrets are read from PEAKWATCH_CREDENTIAL_<NAME>_<FIELD>, the name uppercased with - as _", () => {
    expect(secretVariable("feed-a", "CLIENT_SECRET")).toBe("PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET");
    const registry = buildRegistry([cc()], env({ PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET: "s3cret-value" }));
    const definition = registry.get("feed-a");
    expect(definition.strategy).toBe("oauth2_client_credentials");
    expect(definition.strategy === "oauth2_client_credentials" && definition.secrets.clientSecret.reveal()).toBe("s3cret-value");
  });

  it("a missing secret variable fails at startup with an error naming every missing variable", () => {
    const error = configError(() => buildRegistry([cc(), tv()], env({ PEAKWATCH_CREDENTIAL_BROKER_SEC: "x-api-key" })));
    expect(error.message).toContain("PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET is not set");
    expect(error.message).toContain("PEAKWATCH_CREDENTIAL_BROKER_PASSWORD is not set");
    expect(error.message).not.toContain("PEAKWATCH_CREDENTIAL_BROKER_SEC ");
    expect(error.message).toContain('credential "broker" (peakwatch.credentials)');
  });

  it("an empty secret variable counts as missing", () => {
    expect(configError(() => buildRegistry([cc()], env({ PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET: "  " }))).message).toContain(
      "PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET",
    );
  });

  it("a public refresh-token client (client_auth none) needs only the refresh token", () => {
    const registry = buildRegistry(
      [entry("pub", "oauth2_refresh_token", { token_url: "https://auth.example.com/token", client_id: "app", client_auth: "none" })],
      env({ PEAKWATCH_CREDENTIAL_PUB_REFRESH_TOKEN: "seed-token" }),
    );
    expect(registry.names()).toEqual(["pub"]);
  });

  it("an unknown credential name is an error naming it and the configured ones", () => {
    const registry = buildRegistry([cc()], env({ PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET: "x" }));
    expect(() => registry.get("feed-b")).toThrow(UnknownCredentialError);
    expect(() => registry.get("feed-b")).toThrow('unknown credential "feed-b" (configured: "feed-a")');
  });

  it("a disabled credential is reported as disabled, and its secrets are not required", () => {
    const registry = buildRegistry([{ ...cc("off"), enabled: false }], env({}));
    expect(() => registry.get("off")).toThrow('credential "off" is disabled');
  });

  it("invalid config is named field by field with its credential", () => {
    const error = configError(() =>
      buildRegistry([entry("bad", "oauth2_client_credentials", { token_url: "ftp://nope", client_id: "", extra: 1 })], env({})),
    );
    expect(error.message).toMatch(/credential "bad" \(peakwatch\.credentials\): token_url/);
    expect(error.message).toMatch(/client_id/);
    expect(error.message).toMatch(/extra/);
  });

  it("a URL carrying user:password is refused, so config can never hide a secret", () => {
    const error = configError(() =>
      buildRegistry([entry("leaky", "oauth2_client_credentials", { token_url: "https://id:pw@auth.example.com/token", client_id: "x" })], env({})),
    );
    expect(error.message).toContain("token_url: must not carry credentials");
  });

  it("a credential defined both in the table and in PEAKWATCH_CREDENTIALS is refused", () => {
    const fromEnv = entriesFromEnv(JSON.stringify({ "feed-a": { strategy: "oauth2_client_credentials", token_url: "https://a.example.com/t", client_id: "y" } }));
    expect(fromEnv[0]).toMatchObject({ name: "feed-a", source: "env", config: { client_id: "y" } });
    const error = configError(() => buildRegistry([cc(), ...fromEnv], env({ PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET: "x" })));
    expect(error.message).toContain('credential "feed-a" (PEAKWATCH_CREDENTIALS): also defined in peakwatch.credentials');
  });

  it("two names whose secret variables would be the same are refused", () => {
    const error = configError(() => buildRegistry([cc("feed-a"), cc("feed_a")], env({ PEAKWATCH_CREDENTIAL_FEED_A_CLIENT_SECRET: "x" })));
    expect(error.message).toContain('the same as those of credential "feed-a"');
  });

  it("PEAKWATCH_CREDENTIALS that is not JSON, or names a credential badly, is a config error naming the variable", () => {
    expect(() => entriesFromEnv("{not json")).toThrow("PEAKWATCH_CREDENTIALS: not valid JSON");
    expect(() => entriesFromEnv(JSON.stringify({ "Bad Name": { strategy: "tradovate" } }))).toThrow(/PEAKWATCH_CREDENTIALS: Bad Name/);
    expect(entriesFromEnv(undefined)).toEqual([]);
  });

  it("a secret prints as [secret] in String, JSON, template strings and util.inspect", () => {
    const secret = new Secret("do-not-print-me");
    const holder = { clientSecret: secret };
    for (const text of [String(secret), `${secret}`, JSON.stringify(holder), inspect(holder), inspect(secret)]) {
      expect(text).not.toContain("do-not-print-me");
      expect(text).toContain("[secret]");
    }
    expect(secret.reveal()).toBe("do-not-print-me");
  });

  it("the registry is reloaded after its time to live, and a failed load is retried at once", async () => {
    let clock = 0;
    let loads = 0;
    let fail = true;
    const registry = cachedRegistry(async () => {
      loads += 1;
      if (fail) throw new ConfigError("missing");
      return buildRegistry([], env({}));
    }, 1_000, () => clock);
    await expect(registry()).rejects.toThrow("missing");
    fail = false;
    await registry();
    await registry();
    expect(loads).toBe(2);
    clock = 1_000;
    await registry();
    expect(loads).toBe(3);
  });
});
