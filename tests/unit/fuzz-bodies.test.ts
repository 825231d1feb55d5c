import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { postedCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { tokenRefreshRequest } from "../../supabase/functions/_shared/credentials/request.ts";
import { parseJsonBody } from "../../supabase/functions/_shared/http/body.ts";
import { HttpError } from "../../supabase/functions/_shared/http/errors.ts";
import { orchestratorRequest } from "../../supabase/functions/_shared/orchestrator/request.ts";
import { pollerRequest } from "../../supabase/functions/_shared/poller/request.ts";
import { trackerRequest } from "../../supabase/functions/_shared/tracker/request.ts";
import { anyJson, fuzzed, fuzzTimeout, hostileString, wireNumber } from "../helpers/fuzz.ts";

/** Every request body a function takes, with the keys it knows (so fuzzing reaches past "unknown key"). */
const BODIES = {
  poller: { schema: pollerRequest, keys: ["source", "calls", "async", "trigger", "timeBudgetMs"] },
  tracker: { schema: trackerRequest, keys: ["maxTokens", "timeBudgetMs", "chains", "async", "trigger"] },
  orchestrator: { schema: orchestratorRequest, keys: ["trigger", "async", "dryRun"] },
  "token-refresh": { schema: tokenRefreshRequest, keys: ["names", "force", "trigger"] },
  "posted calls": { schema: z.array(postedCall), keys: [] },
} as const;

const postedCallLike = fc.record({
  source: fc.oneof(fc.constant("manual"), hostileString()),
  external_id: anyJson,
  chain: fc.oneof(fc.constantFrom("solana", "ethereum", "SOLANA ", "base"), hostileString()),
  address: fc.oneof(fc.constant("So11111111111111111111111111111111111111112"), hostileString({ maxLength: 200 })),
  ticker: anyJson,
  called_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom("2024-02-30T00:00:00Z", "2024-01-01T25:00:00+00:00", "2024-01-01"), hostileString()),
  group: anyJson,
  entry_price_usd: fc.oneof(wireNumber, anyJson),
  entry_market_cap_usd: fc.oneof(wireNumber, anyJson),
}, { requiredKeys: [] });

const bodyFor = (keys: readonly string[]) =>
  fc.oneof(
    anyJson,
    fc.dictionary(fc.oneof(fc.constantFrom(...(keys.length > 0 ? keys : ["x"])), hostileString({ maxLength: 8 })), fc.oneof(anyJson, fc.array(anyJson, { maxLength: 3 }), fc.array(postedCallLike, { maxLength: 3 })), { maxKeys: 5 }),
    fc.array(postedCallLike, { maxLength: 5 }),
  );

/** A request as it arrives: JSON text, not JSON, or bytes cut anywhere. */
const rawBody = (keys: readonly string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: bodyFor(keys).map((value) => JSON.stringify(value) ?? "") },
    { weight: 1, arbitrary: hostileString({ maxLength: 200 }) },
    { weight: 1, arbitrary: bodyFor(keys).chain((value) => { const text = JSON.stringify(value) ?? ""; return fc.nat(text.length).map((cut) => text.slice(0, cut)); }) },
  );

describe("every HTTP body schema under fuzzing", () => {
  Object.entries(BODIES).forEach(([name, { schema, keys }], salt) => {
    it(`${name}: any body is parsed or answered 400/413, never a 5xx or an escaped exception`, async () => {
      await fc.assert(
        fc.asyncProperty(rawBody(keys), async (text) => {
          const request = new Request("http://functions.test/x", { method: "POST", body: text });
          try {
            const parsed = await parseJsonBody(request, schema, 2_000_000);
            // What passed the schema is what the schema promises: parsing it again changes nothing.
            expect(schema.safeParse(parsed).success).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(HttpError);
            expect((error as HttpError).status === 400 || (error as HttpError).status === 413).toBe(true);
          }
        }),
        fuzzed(100 + salt),
      );
    }, fuzzTimeout(2));
  });

  it("a posted call that passes is what ingest_calls takes: trimmed, lowercase chain, UTC time", async () => {
    await fc.assert(
      fc.property(postedCallLike, (raw) => {
        const parsed = postedCall.safeParse(raw);
        if (!parsed.success) return;
        expect(parsed.data.chain).toMatch(/^[a-z0-9][a-z0-9_-]{0,31}$/);
        expect(parsed.data.address.length).toBeGreaterThan(0);
        expect(new Date(parsed.data.called_at).toISOString()).toBe(parsed.data.called_at);
        expect(parsed.data.entry_price_usd ?? 1).toBeGreaterThan(0);
      }),
      fuzzed(110),
    );
  }, fuzzTimeout(1));
});
