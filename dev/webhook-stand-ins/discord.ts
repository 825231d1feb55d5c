/**
 * Discord execute webhook (POST https://discord.com/api/webhooks/{id}/{token}): 204 without a body
 * (200 with the message when `?wait=true`); errors are JSON `{message, code}`. Limits from Discord's
 * docs: content 2,000 characters, 10 embeds, embed title 256, description 4,096, 6,000 in all.
 */
import { z } from "zod";
import emptyMessage from "../../tests/fixtures/discord/empty-message.json" with { type: "json" };
import rateLimited from "../../tests/fixtures/discord/rate-limited.json" with { type: "json" };
import { type Answer, type Fault, json, parseJson } from "./answer.ts";

const embed = z.object({
  title: z.string().max(256).optional(),
  description: z.string().max(4_096).optional(),
  url: z.string().optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
});
export const discordBody = z.object({
  content: z.string().max(2_000).optional(),
  embeds: z.array(embed).max(10).optional(),
  allowed_mentions: z.object({ parse: z.array(z.enum(["roles", "users", "everyone"])) }).optional(),
});

const embedChars = (embeds: z.infer<typeof embed>[]) => embeds.reduce((n, e) => n + (e.title?.length ?? 0) + (e.description?.length ?? 0), 0);

export function discordAnswer(raw: string, wait: boolean, fault: Fault | undefined): { answer: Answer; body: unknown } {
  const parsed = parseJson(raw);
  const body = parsed.ok ? parsed.value : raw;
  if (fault === "rate_limited") return { answer: json(429, rateLimited, { "Retry-After": "1" }), body };
  if (fault === "server_error") return { answer: json(500, { message: "500: Internal Server Error", code: 0 }), body };
  const message = parsed.ok ? discordBody.safeParse(parsed.value) : undefined;
  if (!message?.success || embedChars(message.data.embeds ?? []) > 6_000) {
    return { answer: json(400, { message: "Invalid Form Body", code: 50035 }), body };
  }
  if (!message.data.content && (message.data.embeds ?? []).length === 0) return { answer: json(400, emptyMessage), body };
  if (!wait) return { answer: { status: 204, body: "" }, body };
  return { answer: json(200, { id: String(Date.now()), type: 0, content: message.data.content ?? "", embeds: message.data.embeds ?? [] }), body };
}
