import { describe, expect, it } from "vitest";
import type { ClaimedToken } from "../../supabase/functions/_shared/db/rows.ts";
import { RateLimitedError, SchemaError, UpstreamError } from "../../supabase/functions/_shared/providers/types.ts";
import { attributeChunk, CircuitOpenError, isProviderWide } from "../../supabase/functions/_shared/tracker/attribute-failure.ts";
import { LaneUnavailableError } from "../../supabase/functions/_shared/tracker/lanes.ts";
import { priceBatch } from "../../supabase/functions/_shared/tracker/price-batch.ts";
import { emptyStats } from "../../supabase/functions/_shared/tracker/stats.ts";
import { fakeLane, priced } from "../helpers/fake-lanes.ts";

const claimed = (addresses: string[]): ClaimedToken[] =>
  addresses.map((address, i) => ({ token_id: i + 1, chain: "solana", address, status: "active", priority: 1, attempts: 0, lease_until: "" }));

const context = (primary: ReturnType<typeof fakeLane>, fallback?: ReturnType<typeof fakeLane>) => ({
  primary,
  fallback,
  deadline: Date.now() + 10_000,
  signal: new AbortController().signal,
  stats: emptyStats(),
  liquidityFloorUsd: 100,
});

describe("isProviderWide", () => {
  it("network errors, timeouts, 5xx, 429, an open breaker and our own limiter are the provider's", () => {
    for (
      const error of [
        new UpstreamError("network error: fetch failed", null),
        new UpstreamError("timeout", null),
        new UpstreamError("upstream answered 503", 503),
        new RateLimitedError(1_000),
        new CircuitOpenError("dexscreener"),
        new LaneUnavailableError("geckoterminal: no rate-limit slot before the deadline"),
      ]
    ) expect(isProviderWide(error), error.message).toBe(true);
  });

  it("a 4xx, an unreadable answer or a bug may be about the addresses asked for", () => {
    for (const error of [new UpstreamError("upstream answered 400", 400), new SchemaError("dexscreener: all 1 pairs failed the schema"), new TypeError("x is undefined")]) {
      expect(isProviderWide(error), error.message).toBe(false);
    }
  });
});

describe("attributeChunk", () => {
  it("a chunk where every address failed the same way is the provider's", () => {
    const failures = [1, 2, 3].map((tokenId) => ({ tokenId, error: "SchemaError: invalid JSON (12 bytes)", kind: "poison" as const }));
    expect(attributeChunk(failures, 3).map((f) => f.kind)).toEqual(["provider", "provider", "provider"]);
  });

  it("a token failing alone, beside priced neighbours, or differently from the others keeps its own kind", () => {
    const one = [{ tokenId: 1, error: "schema: 1 item(s) failed to parse", kind: "poison" as const }];
    expect(attributeChunk(one, 1)[0]!.kind).toBe("poison");
    expect(attributeChunk(one, 30)[0]!.kind).toBe("poison");
    const mixed = [{ tokenId: 1, error: "a", kind: "poison" as const }, { tokenId: 2, error: "b", kind: "poison" as const }];
    expect(attributeChunk(mixed, 2).map((f) => f.kind)).toEqual(["poison", "poison"]);
  });
});

describe("priceBatch attribution", () => {
  it("a poison token's failure is its own while its batch neighbours are priced", async () => {
    const addresses = ["good-1", "poison", "good-2", "good-3"];
    // The poison token's only item fails its schema: it is not in the results, one parse failure is.
    const primary = fakeLane("dexscreener", (_chain, asked) => ({
      results: asked.map((a) => (a === "poison" ? { address: a, outcome: "missing", reason: "not_in_response" } : priced(a))),
      parseFailures: asked.includes("poison") ? 1 : 0,
      itemCount: asked.length,
      status: 200,
    }));
    const outcome = await priceBatch(claimed(addresses), context(primary));
    expect(outcome.checks.map((c) => [c.token_id, c.outcome])).toEqual([[1, "priced"], [3, "priced"], [4, "priced"]]);
    expect(outcome.failures).toEqual([{ tokenId: 2, error: "schema: 1 item(s) failed to parse", kind: "poison" }]);
  });

  it("both providers unreachable: every token is the provider's failure, none is poison", async () => {
    const refused = () => {
      throw new UpstreamError("network error: fetch failed", null);
    };
    const primary = fakeLane("dexscreener", refused, { down: () => true });
    const fallback = fakeLane("geckoterminal", refused, { down: () => true });
    const outcome = await priceBatch(claimed(["a", "b", "c"]), context(primary, fallback));
    expect(outcome.checks).toEqual([]);
    expect(outcome.failures.map((f) => f.kind)).toEqual(["provider", "provider", "provider"]);
    expect(outcome.failures[0]!.error).toBe("UpstreamError: network error: fetch failed; UpstreamError: network error: fetch failed");
    // one request each: the breaker opened, so no retry added to the outage
    expect([primary.requests.length, fallback.requests.length]).toEqual([1, 1]);
  });

  it("an open primary breaker and a fallback that throttles us are the providers' too", async () => {
    const primary = fakeLane("dexscreener", () => expect.fail("an open breaker is not asked"), { breakerOpen: () => true });
    const fallback = fakeLane("geckoterminal", () => {
      throw new RateLimitedError(null);
    }, { down: () => true });
    const outcome = await priceBatch(claimed(["only"]), context(primary, fallback));
    expect(outcome.failures).toEqual([{ tokenId: 1, error: "dexscreener: circuit open; RateLimitedError: rate limited", kind: "provider" }]);
  });

  it("a 4xx for a token asked alone is the token's", async () => {
    const primary = fakeLane("dexscreener", () => {
      throw new UpstreamError("upstream answered 400", 400);
    });
    const outcome = await priceBatch(claimed(["bad-address"]), context(primary));
    expect(outcome.failures).toEqual([{ tokenId: 1, error: "UpstreamError: upstream answered 400", kind: "poison" }]);
  });
});
