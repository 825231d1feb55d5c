import { describe, expect, it } from "vitest";
import { createEgress } from "../../supabase/functions/_shared/egress/fetch.ts";
import { createEgressPolicy, DEFAULT_MAX_BYTES } from "../../supabase/functions/_shared/egress/policy.ts";
import { staticResolver } from "../../supabase/functions/_shared/egress/resolver.ts";
import type { BearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import { createHttpFeedReader } from "../../supabase/functions/_shared/sources/http-feed.ts";

const TOKEN = "tok-feed-0123456789";

function setup(url: string) {
  const sent: Array<{ url: string; authorization: string | null }> = [];
  const egress = createEgress(
    createEgressPolicy({ localDev: false, allowPrivateHosts: [], maxBytes: DEFAULT_MAX_BYTES, resolver: staticResolver({ "feed.example": ["93.184.216.34"], "other.example": ["93.184.216.35"] }) }),
    ((input: RequestInfo | URL, init?: RequestInit) => {
      sent.push({ url: String(input), authorization: new Headers(init?.headers).get("authorization") });
      return Promise.resolve(Response.json({ calls: [] }));
    }) as typeof fetch,
  );
  // The store's credential "feed-auth" allows feed.example only (PEAKWATCH_CREDENTIAL_FEED_AUTH_HOSTS).
  const bearer: BearerSource = { token: () => Promise.resolve(TOKEN), allowedHosts: () => Promise.resolve(["feed.example"]) };
  const reader = createHttpFeedReader({ id: 1, name: "f", kind: "http_feed", config: { url, credential: "feed-auth" }, cursor: null, pollIntervalSeconds: 60 }, { bearer, egress });
  return { sent, read: () => reader.readPage(null, new AbortController().signal) };
}

describe("a feed using a credential", () => {
  it("sends its token to a host the credential allows", async () => {
    const { sent, read } = setup("https://feed.example/calls");
    await read();
    expect(sent).toEqual([{ url: "https://feed.example/calls?limit=100", authorization: `Bearer ${TOKEN}` }]);
  });

  it("is refused for any other host, before a byte is sent", async () => {
    const { sent, read } = setup("https://other.example/calls");
    const error = await read().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "EgressError", reason: "host_not_allowed" });
    expect((error as Error).message).toBe('feed request to https://other.example refused: credential "feed-auth" may only go to feed.example');
    expect(sent).toEqual([]);
  });
});
