import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../supabase/functions/_shared/egress/addresses.ts";
import { EgressError } from "../../supabase/functions/_shared/egress/errors.ts";
import { createEgress } from "../../supabase/functions/_shared/egress/fetch.ts";
import { createEgressPolicy, DEFAULT_MAX_BYTES, type EgressRequest, type EgressSettings } from "../../supabase/functions/_shared/egress/policy.ts";
import { staticResolver } from "../../supabase/functions/_shared/egress/resolver.ts";
import { redactText, redactUrl } from "../../supabase/functions/_shared/egress/redact.ts";
import { allowedHostsOf } from "../../supabase/functions/_shared/credentials/definitions.ts";
import { buildRegistry } from "../../supabase/functions/_shared/credentials/registry.ts";

const resolver = staticResolver({
  "feed.example": ["93.184.216.34"],
  "inside.example": ["10.0.0.7"],
  "sneaky.example": ["93.184.216.34", "::1"],
  "metadata.example": ["169.254.169.254"],
  "mapped.example": ["::ffff:127.0.0.1"],
});

const settings = (overrides: Partial<EgressSettings> = {}): EgressSettings => ({
  localDev: false,
  allowPrivateHosts: [],
  maxBytes: DEFAULT_MAX_BYTES,
  resolver,
  ...overrides,
});

const feed: EgressRequest = { kind: "feed", checkAddresses: true };

async function refusal(url: string, request: EgressRequest = feed, overrides: Partial<EgressSettings> = {}): Promise<string | null> {
  try {
    await createEgressPolicy(settings(overrides)).check(new URL(url), request);
    return null;
  } catch (error) {
    if (error instanceof EgressError) return error.reason;
    throw error;
  }
}

describe("address classes", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["2130706433", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["0x7f.1", "loopback"],
    ["127.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.0.1", "private"],
    ["100.64.0.1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["64:ff9b::a00:1", "private"],
    ["224.0.0.1", "reserved"],
    ["8.8.8.8", "public"],
    ["2606:4700:4700::1111", "public"],
  ])("%s is %s", (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it("a hostname is not an address", () => {
    expect(classifyAddress("feed.example")).toBeNull();
    expect(classifyAddress("1::2::3")).toBeNull();
    expect(classifyAddress("256.1.1.1")).toBeNull();
  });
});

describe("feed URLs outside local dev", () => {
  it.each([
    "https://127.0.0.1/calls",
    "https://[::1]/calls",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:127.0.0.1]/calls",
    "https://2130706433/calls",
    "https://0177.0.0.1/calls",
    "https://0x7f.1/calls",
    "https://0.0.0.0/calls",
    "https://[fc00::1]/calls",
    "https://[fe80::1]/calls",
    "https://10.0.0.1/calls",
    "https://inside.example/calls",
    "https://sneaky.example/calls",
    "https://metadata.example/calls",
    "https://mapped.example/calls",
  ])("%s is refused as a non-public address", async (url) => {
    expect(await refusal(url)).toBe("private_address");
  });

  it("plain http is refused, to loopback too", async () => {
    expect(await refusal("http://127.0.0.1:8080/calls")).toBe("scheme");
    expect(await refusal("http://feed.example/calls")).toBe("scheme");
  });

  it("a public host over https is allowed; a name that does not resolve is refused", async () => {
    expect(await refusal("https://feed.example/calls")).toBeNull();
    expect(await refusal("https://nowhere.example/calls")).toBe("dns");
  });

  it("an address or host listed in PEAKWATCH_EGRESS_ALLOW_PRIVATE_HOSTS is allowed", async () => {
    expect(await refusal("https://inside.example/calls", feed, { allowPrivateHosts: ["inside.example"] })).toBeNull();
    expect(await refusal("https://[fc00::1]/calls", feed, { allowPrivateHosts: ["fc00::1"] })).toBeNull();
  });

  it("user:password in a URL is refused", async () => {
    expect(await refusal("https://user:pw@feed.example/calls")).toBe("scheme");
  });
});

describe("local dev (PEAKWATCH_LOCAL_DEV)", () => {
  it("allows http to loopback, where the stand-ins live, and nothing else over http", async () => {
    const local = { localDev: true };
    expect(await refusal("http://127.0.0.1:8080/calls", feed, local)).toBeNull();
    expect(await refusal("http://[::1]:8080/calls", feed, local)).toBeNull();
    expect(await refusal("http://localhost:8080/calls", feed, { ...local, resolver: staticResolver({ localhost: ["127.0.0.1", "::1"] }) })).toBeNull();
    expect(await refusal("http://feed.example/calls", feed, local)).toBe("scheme");
    expect(await refusal("https://169.254.169.254/", feed, local)).toBe("private_address");
    expect(await refusal("https://inside.example/", feed, local)).toBe("private_address");
  });
});

describe("secrets go only to the hosts the environment or code names", () => {
  const withSecret = (hosts: string[]): EgressRequest => ({ kind: "credential", carriesSecret: true, secretHosts: hosts, secretName: 'credential "x"' });

  it("a secret for a host its credential does not allow is refused", async () => {
    expect(await refusal("https://auth.example.com/token", withSecret(["auth.example.com"]))).toBeNull();
    expect(await refusal("https://evil.example/token", withSecret(["auth.example.com"]))).toBe("host_not_allowed");
    expect(await refusal("https://evil.example/token", withSecret([]))).toBe("host_not_allowed");
    expect(await refusal("http://auth.example.com/token", withSecret(["auth.example.com"]))).toBe("scheme");
  });

  it("a credential defined in a database row gets no host from its own URL; one from the environment does", () => {
    const config = { strategy: "oauth2_client_credentials" as const, token_url: "https://evil.example/token", client_id: "c", client_auth: "basic" as const };
    expect(allowedHostsOf("cc", config, "database", [])).toEqual([]);
    expect(allowedHostsOf("cc", config, "database", ["auth.example.com"])).toEqual(["auth.example.com"]);
    expect(allowedHostsOf("cc", config, "env", [])).toEqual(["evil.example"]);
  });

  it("the registry reads each credential's hosts from PEAKWATCH_CREDENTIAL_<NAME>_HOSTS", () => {
    const env: Record<string, string> = { PEAKWATCH_CREDENTIAL_FEED_AUTH_CLIENT_SECRET: "s3cret-value", PEAKWATCH_CREDENTIAL_FEED_AUTH_HOSTS: "auth.example.com, feed.example" };
    const registry = buildRegistry([{ name: "feed-auth", strategy: "oauth2_client_credentials", config: { token_url: "https://row-says.example/token", client_id: "c" }, enabled: true, source: "database" }], (name) => env[name]);
    expect(registry.get("feed-auth").allowedHosts).toEqual(["auth.example.com", "feed.example"]);
  });
});

describe("redirects", () => {
  const redirectTo = (location: string) => {
    const calls: Array<{ url: string; authorization: string | null }> = [];
    const transport = ((input: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(input), authorization: new Headers(init?.headers).get("authorization") });
      return Promise.resolve(calls.length === 1 ? new Response(null, { status: 302, headers: { location } }) : new Response("[]"));
    }) as typeof fetch;
    return { calls, transport };
  };

  it("a redirect to a private address is refused before it is followed", async () => {
    const { calls, transport } = redirectTo("https://169.254.169.254/latest/meta-data/");
    const egress = createEgress(createEgressPolicy(settings()), transport);
    await expect(egress.fetch("https://feed.example/calls", {}, feed)).rejects.toMatchObject({ reason: "private_address" });
    expect(calls.map((call) => call.url)).toEqual(["https://feed.example/calls"]);
  });

  it("a redirect that would carry a token is never followed", async () => {
    const { calls, transport } = redirectTo("https://feed.example/elsewhere");
    const egress = createEgress(createEgressPolicy(settings()), transport);
    const request: EgressRequest = { kind: "feed", checkAddresses: true, carriesSecret: true, secretHosts: ["feed.example"] };
    const error = await egress.fetch("https://feed.example/calls", { headers: { authorization: "Bearer tok-1234567890" } }, request).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "redirect" });
    expect((error as Error).message).not.toContain("tok-1234567890");
    expect(calls).toHaveLength(1);
  });

  it("a public redirect without a secret is followed, each hop checked", async () => {
    const { calls, transport } = redirectTo("https://feed.example/v2/calls");
    const egress = createEgress(createEgressPolicy(settings()), transport);
    const response = await egress.fetch("https://feed.example/calls", {}, feed);
    expect(await response.json()).toEqual([]);
    expect(calls.map((call) => call.url)).toEqual(["https://feed.example/calls", "https://feed.example/v2/calls"]);
  });
});

describe("redaction", () => {
  it.each([
    ["https://feed.example/calls?api_key=SECRETKEY123", "https://feed.example"],
    ["https://user:hunter2hunter2@feed.example/x", "https://feed.example"],
    ["https://hooks.slack.com/services/T0000/B0000/SLACKSECRET123", "https://hooks.slack.com"],
    ["https://discord.com/api/webhooks/123456/DISCORDSECRET123", "https://discord.com"],
    ["https://api.telegram.org/bot123456:TELEGRAMSECRET123/sendMessage", "https://api.telegram.org"],
  ])("%s becomes %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
    expect(redactText(`TypeError: error sending request for url (${url}): connection refused`)).toBe(`TypeError: error sending request for url (${expected}): connection refused`);
  });

  it("a Telegram token and a bearer are cut out of free text", () => {
    expect(redactText("bot123456:ABCDEFGHIJKLMNOP failed")).toBe("bot[secret] failed");
    expect(redactText("sent Authorization: Bearer abcdefghijklmnop")).toBe("sent Authorization: Bearer [secret]");
  });
});
