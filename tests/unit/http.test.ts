import { describe, expect, it } from "vitest";
import { fetchJson, parseRetryAfter } from "../../supabase/functions/_shared/providers/http.ts";
import { RateLimitedError, SchemaError, UpstreamError } from "../../supabase/functions/_shared/providers/types.ts";
import { jsonResponse, stubFetch } from "../helpers/fixtures.ts";

/** A fetch that never answers and gives up only when its signal aborts, as a stalled upstream does. */
const stalled = ((_input: RequestInfo | URL, init?: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
  })) as typeof fetch;

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120")).toBe(120_000);
    expect(parseRetryAfter(" 0 ")).toBe(0);
  });

  it("reads an HTTP-date relative to now and never goes negative", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)).toBe(0);
  });

  it("answers null for an absent or unreadable header", () => {
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("fetchJson", () => {
  it("returns the status and the parsed body", async () => {
    await expect(fetchJson("http://up.test/x", { fetch: stubFetch(() => jsonResponse({ ok: 1 })) })).resolves.toEqual({
      status: 200,
      body: { ok: 1 },
    });
  });

  it("maps 429 to RateLimitedError with the Retry-After wait", async () => {
    const fetch = stubFetch(() => new Response("slow down", { status: 429, headers: { "retry-after": "3" } }));
    const error = await fetchJson("http://up.test/x", { fetch }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 3000 });
  });

  it("maps 5xx and other error statuses to UpstreamError with the status", async () => {
    for (const status of [502, 503, 404]) {
      const error = await fetchJson("http://up.test/x", { fetch: stubFetch(() => new Response("no", { status })) }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error).not.toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ status });
    }
  });

  it("maps a body that is not JSON to SchemaError", async () => {
    const fetch = stubFetch(() => new Response('[{"chainId":"solana",', { status: 200 }));
    await expect(fetchJson("http://up.test/x", { fetch })).rejects.toBeInstanceOf(SchemaError);
  });

  it("maps an upstream that does not answer in time to UpstreamError('timeout') without a status", async () => {
    const error = await fetchJson("http://up.test/x", { fetch: stalled, timeoutMs: 20 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ message: "timeout", status: null });
  });

  it("rethrows the caller's own abort untouched", async () => {
    const controller = new AbortController();
    const pending = fetchJson("http://up.test/x", { fetch: stalled, signal: controller.signal, timeoutMs: 60_000 });
    controller.abort();
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name: "AbortError" });
  });

  it("maps a refused connection to UpstreamError without a status", async () => {
    const refused = (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch;
    await expect(fetchJson("http://up.test/x", { fetch: refused })).rejects.toMatchObject({ name: "UpstreamError", status: null });
  });
});
