import { describe, expect, it } from "vitest";
import { discordBody } from "../../dev/webhook-stand-ins/discord.ts";
import { slackBody } from "../../dev/webhook-stand-ins/slack.ts";
import { htmlProblem, telegramBody } from "../../dev/webhook-stand-ins/telegram.ts";
import { createDiscordChannel, discordPayload } from "../../supabase/functions/_shared/notify/discord.ts";
import type { Notification } from "../../supabase/functions/_shared/notify/message.ts";
import { createSlackChannel, slackPayload } from "../../supabase/functions/_shared/notify/slack.ts";
import { createTelegramChannel, telegramPayload } from "../../supabase/functions/_shared/notify/telegram.ts";
import { jsonResponse, loadFixture, stubFetch } from "../helpers/fixtures.ts";

const small: Notification = {
  kind: "health",
  severity: "fail",
  title: "peakwatch FAIL: 1 failing, 0 warning",
  lines: ["🔴 tracker:lastSuccessAge: pass → fail (742 s) — last ok run at 2026-11-26T00:48:00Z & <script>"],
  link: "https://example.test/functions/v1/health/status",
  time: "2026-11-26T01:00:00.000Z",
};
// Hundreds of long lines full of characters each format must escape.
const huge: Notification = { ...small, title: "T".repeat(500), lines: Array.from({ length: 400 }, (_, i) => `line ${i} <b>&</b> @everyone ${"x".repeat(80)}`) };

describe("Slack payload", () => {
  it("is an incoming-webhook body within Block Kit limits, with &, < and > escaped", () => {
    for (const n of [small, huge]) expect(slackBody.safeParse(slackPayload(n)).success).toBe(true);
    const section = slackPayload(small).blocks.find((b) => b.type === "section") as { text: { text: string } };
    expect(section.text.text).toContain("&amp; &lt;script&gt;");
    expect(slackPayload(huge).blocks.some((b) => b.type === "section" && b.text.text.endsWith("more"))).toBe(true);
  });
});

describe("Discord payload", () => {
  it("is an execute-webhook body within Discord's limits, with mentions switched off", () => {
    for (const n of [small, huge]) expect(discordBody.safeParse(discordPayload(n)).success).toBe(true);
    expect(discordPayload(huge).embeds[0]!.description!.length).toBeLessThanOrEqual(4_096);
    expect(discordPayload(small).allowed_mentions).toEqual({ parse: [] });
  });
});

describe("Telegram payload", () => {
  it("is a sendMessage body whose HTML Telegram can parse, at most 4,096 characters", () => {
    for (const n of [small, huge]) {
      const body = telegramPayload("-100123", n);
      expect(telegramBody.safeParse(body).success).toBe(true);
      expect(htmlProblem(body.text)).toBeNull();
      expect(body.text.length).toBeLessThanOrEqual(4_096);
    }
    expect(telegramPayload("-100123", small).text).toContain("&amp; &lt;script&gt;");
  });

  it("a refusal names Telegram's description, with the bot token masked", async () => {
    const token = "123456:secret-token-value-0000";
    const fetch = stubFetch(() => jsonResponse(loadFixture("telegram/bad-request-chat-not-found.json"), { status: 400 }));
    const channel = createTelegramChannel({ botToken: token, chatId: "1", apiBaseUrl: "https://api.telegram.test" }, { fetch, timeoutMs: 1_000 });
    const delivery = await channel.send(small);
    expect(delivery).toEqual({ channel: "telegram", ok: false, status: 400, error: "telegram answered 400: Bad Request: chat not found" });
    expect(fetch.urls).toEqual([`https://api.telegram.test/bot${token}/sendMessage`]);
  });
});

describe("channels", () => {
  it("a network failure never puts the URL (which holds the secret) in the error", async () => {
    const secretUrl = "https://hooks.slack.test/services/T000/B000/very-secret-path";
    const refused = (async (input: RequestInfo | URL) => {
      throw new TypeError(`error sending request for url (${String(input)})`);
    }) as typeof fetch;
    for (const channel of [createSlackChannel(secretUrl, { fetch: refused, timeoutMs: 1_000 }), createDiscordChannel(secretUrl, { fetch: refused, timeoutMs: 1_000 })]) {
      const delivery = await channel.send(small);
      expect(delivery.ok).toBe(false);
      expect(JSON.stringify(delivery)).not.toContain("very-secret-path");
      expect(delivery.error).toBe("network error (TypeError)");
    }
  });

  it("Slack's and Discord's error answers become short, readable reasons", async () => {
    const slack = createSlackChannel("https://hooks.slack.test/x", { fetch: stubFetch(() => new Response("channel_is_archived", { status: 410 })), timeoutMs: 1_000 });
    expect(await slack.send(small)).toMatchObject({ ok: false, status: 410, error: "slack answered 410: channel_is_archived" });
    const discord = createDiscordChannel("https://discord.test/api/webhooks/1/x", {
      fetch: stubFetch(() => jsonResponse(loadFixture("discord/rate-limited.json"), { status: 429 })),
      timeoutMs: 1_000,
    });
    expect(await discord.send(small)).toMatchObject({ ok: false, status: 429, error: "discord answered 429: You are being rate limited., retry after 0.5 s" });
  });
});
