import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CredentialUpstreamError } from "../../supabase/functions/_shared/credentials/errors.ts";
import { requestOAuth2Token } from "../../supabase/functions/_shared/credentials/oauth2.ts";
import { Secret } from "../../supabase/functions/_shared/credentials/secret.ts";
import { readTradovateAnswer } from "../../supabase/functions/_shared/credentials/tradovate.ts";
import { transportEgress } from "../../supabase/functions/_shared/egress/fetch.ts";
import { createDiscordChannel, discordPayload } from "../../supabase/functions/_shared/notify/discord.ts";
import type { Notification } from "../../supabase/functions/_shared/notify/message.ts";
import { createSlackChannel, slackPayload } from "../../supabase/functions/_shared/notify/slack.ts";
import { createTelegramChannel, telegramPayload } from "../../supabase/functions/_shared/notify/telegram.ts";
import { parsePairs, quotesFromPairs } from "../../supabase/functions/_shared/providers/dexscreener.ts";
import { parseTokens, quoteToken } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { SchemaError, UpstreamError } from "../../supabase/functions/_shared/providers/types.ts";
import { createDexScreenerProfilesReader } from "../../supabase/functions/_shared/sources/dexscreener-profiles.ts";
import { createGeckoTerminalTrendingReader } from "../../supabase/functions/_shared/sources/geckoterminal-trending.ts";
import { httpFeedConfig, readFeedAnswer } from "../../supabase/functions/_shared/sources/http-feed.ts";
import { anyJson, fuzzed, fuzzTimeout, hostileString, wireNumber } from "../helpers/fuzz.ts";

const ADDRESS = "So11111111111111111111111111111111111111112";
const numeric = fc.oneof(wireNumber.map(String), wireNumber, anyJson);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, anyJson), { nil: undefined });

const dexToken = fc.record({ address: fc.oneof(fc.constant(ADDRESS), hostileString()), name: maybe(hostileString()), symbol: maybe(hostileString()) }, { requiredKeys: [] });
const dexPair = fc.record({
  chainId: fc.oneof(fc.constant("solana"), hostileString()),
  dexId: maybe(hostileString()),
  pairAddress: maybe(hostileString()),
  baseToken: fc.oneof(dexToken, anyJson),
  quoteToken: fc.oneof(dexToken, anyJson),
  priceNative: numeric,
  priceUsd: numeric,
  liquidity: fc.oneof(fc.record({ usd: numeric }), anyJson),
  fdv: numeric,
  marketCap: numeric,
}, { requiredKeys: [] });

const geckoToken = fc.record({
  id: maybe(hostileString()),
  type: fc.oneof(fc.constant("token"), anyJson),
  attributes: fc.oneof(fc.record({
    address: fc.oneof(fc.constant(ADDRESS), hostileString()),
    name: maybe(hostileString()),
    symbol: maybe(hostileString()),
    price_usd: numeric,
    fdv_usd: numeric,
    market_cap_usd: numeric,
    total_reserve_in_usd: numeric,
  }, { requiredKeys: [] }), anyJson),
  relationships: anyJson,
}, { requiredKeys: [] });

/** A thrown value a parser may end in: only its own kinds, never a TypeError or RangeError. */
const expectOwnError = (error: unknown, ...kinds: Array<abstract new (...args: never[]) => Error>) => {
  expect(kinds.some((kind) => error instanceof kind), `unexpected ${(error as Error)?.name}: ${(error as Error)?.message}`).toBe(true);
};

const saneQuote = (outcome: { outcome: string; quote?: { priceUsd: number; marketCapUsd: number | null } }) => {
  if (outcome.outcome !== "priced") return;
  expect(Number.isFinite(outcome.quote!.priceUsd) && outcome.quote!.priceUsd > 0).toBe(true);
};

describe("provider parsers under fuzzing", () => {
  it("DexScreener: any answer is priced sanely or refused as a SchemaError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.oneof(dexPair, anyJson), { maxLength: 40 }), anyJson), (payload) => {
        try {
          const parsed = parsePairs(payload);
          quotesFromPairs("solana", [ADDRESS, "other"], parsed).forEach(saneQuote);
        } catch (error) {
          expectOwnError(error, SchemaError);
        }
      }),
      fuzzed(200),
    );
  }, fuzzTimeout(2));

  it("GeckoTerminal: any answer is priced sanely or refused as a SchemaError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.record({ data: fc.array(fc.oneof(geckoToken, anyJson), { maxLength: 40 }) }), anyJson), (payload) => {
        try {
          const parsed = parseTokens(payload);
          saneQuote(quoteToken(parsed.tokens[0], "solana", ADDRESS));
        } catch (error) {
          expectOwnError(error, SchemaError);
        }
      }),
      fuzzed(201),
    );
  }, fuzzTimeout(2));
});

const feedItem = fc.record({
  id: fc.oneof(fc.nat().map(String), fc.nat(), anyJson),
  chain: fc.oneof(fc.constantFrom("solana", "ethereum", " Base "), anyJson),
  token_address: fc.oneof(fc.constant(ADDRESS), hostileString()),
  symbol: maybe(hostileString()),
  group: maybe(hostileString()),
  called_at: fc.oneof(fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()), fc.integer({ min: -1, max: 2e14 }), anyJson),
  price_usd: numeric,
  market_cap_usd: numeric,
}, { requiredKeys: [] });

describe("feed parsers under fuzzing", () => {
  it("http_feed: any answer becomes a bounded page of well-formed calls, or a SchemaError", () => {
    const config = fc.record({ cursor: fc.constantFrom("since_id", "since_time"), pageSize: fc.integer({ min: 1, max: 50 }), itemsPath: fc.constantFrom("calls", null) })
      .map((c) => httpFeedConfig.parse({ url: "https://feed.example/calls", ...c }));
    const body = fc.oneof(
      fc.record({ calls: fc.array(fc.oneof(feedItem, anyJson), { maxLength: 80 }), next_cursor: anyJson, has_more: anyJson }, { requiredKeys: [] }),
      fc.array(fc.oneof(feedItem, anyJson), { maxLength: 80 }),
      anyJson,
    );
    fc.assert(
      fc.property(config, body, fc.option(fc.oneof(fc.nat().map(String), hostileString()), { nil: null }), (cfg, answer, cursor) => {
        try {
          const page = readFeedAnswer(answer, cfg, cursor);
          expect(page.calls.length + page.unreadable).toBeLessThanOrEqual(cfg.pageSize);
          for (const call of page.calls) {
            expect(call.chain).toMatch(/^[a-z0-9][a-z0-9_-]{0,31}$/);
            expect(new Date(call.called_at).toISOString()).toBe(call.called_at);
            expect(call.entry_price_usd === null || call.entry_price_usd > 0).toBe(true);
          }
          expect(page.cursor === null || typeof page.cursor === "string").toBe(true);
        } catch (error) {
          expectOwnError(error, SchemaError);
        }
      }),
      fuzzed(210),
    );
  }, fuzzTimeout(3));

  const source = (kind: string, config: unknown) => ({ id: 1, name: "s", kind: kind as never, config, cursor: null, pollIntervalSeconds: 60 });
  const gate = { acquire: () => Promise.resolve(true) };

  it("DexScreener token profiles: any answer is a bounded page or a SchemaError", async () => {
    const profile = fc.record({ chainId: fc.oneof(fc.constant("solana"), anyJson), tokenAddress: fc.oneof(fc.constant(ADDRESS), anyJson), openGraph: maybe(hostileString()) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(fc.oneof(profile, anyJson), { maxLength: 40 }), anyJson), async (body) => {
        const reader = createDexScreenerProfilesReader(source("dexscreener_profiles", {}), { gate, fetch: (() => Promise.resolve(new Response(JSON.stringify(body) ?? "null"))) as typeof fetch });
        try {
          const page = await reader.readPage(null, new AbortController().signal);
          expect(page.calls.length).toBeLessThanOrEqual(1_000);
          page.calls.forEach((call) => expect(new Date(call.called_at).toISOString()).toBe(call.called_at));
        } catch (error) {
          expectOwnError(error, SchemaError, UpstreamError);
        }
      }),
      fuzzed(211),
    );
  }, fuzzTimeout(3));

  it("GeckoTerminal trending pools: any answer is a bounded page or a SchemaError", async () => {
    const pool = fc.record({
      id: maybe(hostileString()),
      type: fc.oneof(fc.constant("pool"), anyJson),
      attributes: fc.oneof(fc.record({ name: fc.oneof(hostileString(), anyJson), base_token_price_usd: numeric, fdv_usd: numeric, market_cap_usd: numeric }, { requiredKeys: [] }), anyJson),
      relationships: fc.oneof(fc.record({ base_token: fc.record({ data: fc.record({ id: fc.oneof(fc.constant(`solana_${ADDRESS}`), hostileString()) }) }) }), anyJson),
    }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.record({ data: fc.array(fc.oneof(pool, anyJson), { maxLength: 40 }) }), anyJson), async (body) => {
        const reader = createGeckoTerminalTrendingReader(source("geckoterminal_trending", { network: "solana" }), { gate, fetch: (() => Promise.resolve(new Response(JSON.stringify(body) ?? "null"))) as typeof fetch });
        try {
          const page = await reader.readPage(null, new AbortController().signal);
          expect(page.calls.length).toBeLessThanOrEqual(100);
          page.calls.forEach((call) => expect(call.entry_price_usd === null || call.entry_price_usd > 0).toBe(true));
        } catch (error) {
          expectOwnError(error, SchemaError, UpstreamError);
        }
      }),
      fuzzed(212),
    );
  }, fuzzTimeout(3));
});

const notification = fc.record({
  kind: fc.constantFrom("health" as const, "ath" as const),
  severity: fc.constantFrom("pass" as const, "warn" as const, "fail" as const, "info" as const),
  title: hostileString({ maxLength: 400 }),
  lines: fc.array(hostileString({ maxLength: 300 }), { maxLength: 40 }),
  link: fc.option(fc.constant("https://peakwatch.example/status"), { nil: undefined }),
  time: fc.constant("2026-12-02T00:00:00.000Z"),
}) as fc.Arbitrary<Notification>;

describe("webhook payloads and answers under fuzzing", () => {
  it("payloads stay within each service's limits whatever the text", () => {
    fc.assert(
      fc.property(notification, (n) => {
        const slack = slackPayload(n);
        expect(slack.text.length).toBeLessThanOrEqual(3_000);
        const header = slack.blocks[0] as { text: { text: string } };
        expect(header.text.text.length).toBeLessThanOrEqual(150);
        const discord = discordPayload(n);
        expect(discord.content.length).toBeLessThanOrEqual(2_000);
        expect(discord.embeds[0]!.description?.length ?? 0).toBeLessThanOrEqual(4_096);
        expect(telegramPayload("-100", n).text.length).toBeLessThanOrEqual(4_096);
      }),
      fuzzed(220),
    );
  }, fuzzTimeout(2));

  it("any answer of Slack, Discord or Telegram is a delivery, never a throw, never the URL's secret", async () => {
    const secret = "hooksecret0123456789";
    const answer = fc.record({ status: fc.integer({ min: 200, max: 599 }), body: fc.oneof(hostileString({ maxLength: 300 }), anyJson.map((v) => JSON.stringify(v) ?? ""), fc.constant(`{"ok":false,"error_code":401,"description":"bot 1:${secret} unauthorized"}`)) });
    await fc.assert(
      fc.asyncProperty(answer, notification, async ({ status, body }, n) => {
        const transport = (() => Promise.resolve(new Response(body, { status }))) as typeof fetch;
        const options = { timeoutMs: 1_000, egress: transportEgress(transport) };
        const channels = [
          createSlackChannel(`https://hooks.slack.com/services/T0/B0/${secret}`, options),
          createDiscordChannel(`https://discord.com/api/webhooks/1/${secret}`, options),
          createTelegramChannel({ botToken: `1:${secret}`, chatId: "-100", apiBaseUrl: "https://api.telegram.org" }, options),
        ];
        for (const channel of channels) {
          const delivery = await channel.send(n);
          expect(typeof delivery.ok).toBe("boolean");
          expect(JSON.stringify(delivery)).not.toContain(secret);
        }
      }),
      fuzzed(221),
    );
  }, fuzzTimeout(5));
});

describe("credential answers under fuzzing", () => {
  it("Tradovate: any answer is a token, a penalty, an error text, or a schema failure", () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.record({ accessToken: anyJson, expirationTime: anyJson, errorText: anyJson, "p-ticket": anyJson, "p-time": anyJson, "p-captcha": anyJson }, { requiredKeys: [] })), (json) => {
        try {
          const reading = readTradovateAnswer("tv", json);
          if (reading.kind === "token") expect(typeof reading.token.accessToken).toBe("string");
        } catch (error) {
          expectOwnError(error, CredentialUpstreamError);
        }
      }),
      fuzzed(230),
    );
  }, fuzzTimeout(1));

  it("OAuth2: any token endpoint answer is a grant or a CredentialUpstreamError that never holds the secret", async () => {
    const clientSecret = "clientsecret0123456789";
    const answer = fc.record({
      status: fc.integer({ min: 200, max: 599 }),
      body: fc.oneof(hostileString({ maxLength: 200 }), fc.record({ access_token: anyJson, expires_in: anyJson, refresh_token: anyJson, error: anyJson }, { requiredKeys: [] }).map((v) => JSON.stringify(v))),
    });
    await fc.assert(
      fc.asyncProperty(answer, async ({ status, body }) => {
        const egress = transportEgress((() => Promise.resolve(new Response(body, { status }))) as typeof fetch);
        const config = { strategy: "oauth2_client_credentials" as const, token_url: "https://auth.example.com/token", client_id: "c", client_auth: "post" as const, default_expires_in_seconds: 60 };
        try {
          const grant = await requestOAuth2Token("cc", config, { grant_type: "client_credentials" }, new Secret(clientSecret), { egress, timeoutMs: 1_000, now: () => 0 });
          expect(grant.accessToken.length).toBeGreaterThan(0);
        } catch (error) {
          expectOwnError(error, CredentialUpstreamError);
          expect((error as Error).message).not.toContain(clientSecret);
        }
      }),
      fuzzed(231),
    );
  }, fuzzTimeout(2));
});
