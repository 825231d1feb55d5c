/**
 * Telegram Bot API sendMessage (POST https://api.telegram.org/bot<token>/sendMessage): always JSON,
 * `{ok: true, result: Message}` or `{ok: false, error_code, description}`. Answers are copies of the
 * recorded ones in tests/fixtures/telegram/. Text 1..4,096 characters; with parse_mode HTML only
 * Telegram's tags, balanced, and &lt; &gt; &amp; &quot; entities.
 */
import { z } from "zod";
import tooMany from "../../tests/fixtures/telegram/too-many-requests.json" with { type: "json" };
import chatNotFound from "../../tests/fixtures/telegram/bad-request-chat-not-found.json" with { type: "json" };
import emptyText from "../../tests/fixtures/telegram/bad-request-message-text-is-empty.json" with { type: "json" };
import sent from "../../tests/fixtures/telegram/send-message-ok.json" with { type: "json" };
import unauthorized from "../../tests/fixtures/telegram/unauthorized.json" with { type: "json" };
import { type Answer, type Fault, json, parseJson } from "./answer.ts";

export const telegramBody = z.object({
  chat_id: z.union([z.string(), z.number()]),
  text: z.string().optional(),
  parse_mode: z.enum(["HTML", "Markdown", "MarkdownV2"]).optional(),
  link_preview_options: z.object({ is_disabled: z.boolean().optional() }).optional(),
  disable_notification: z.boolean().optional(),
});

const TAGS = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler", "blockquote"]);

/** The first reason Telegram would refuse `text` as HTML, or null. */
export function htmlProblem(text: string): string | null {
  const open: string[] = [];
  const token = /<(\/?)([a-z-]+)(?:\s[^<>]*)?>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|[<>&]/gi;
  for (const match of text.matchAll(token)) {
    const [whole, closing, tag] = match;
    if (whole === "<" || whole === ">" || whole === "&") return `Unsupported start tag or stray "${whole}" at byte offset ${match.index}`;
    if (!tag) continue;
    const name = tag.toLowerCase();
    if (!TAGS.has(name)) return `Unsupported start tag "${name}" at byte offset ${match.index}`;
    if (!closing) open.push(name);
    else if (open.pop() !== name) return `Can't find end tag corresponding to start tag "${name}"`;
  }
  return open.length > 0 ? `Can't find end tag corresponding to start tag "${open.at(-1)}"` : null;
}

const plain = (text: string) =>
  text.replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");

const badRequest = (description: string) => json(400, { ok: false, error_code: 400, description: `Bad Request: ${description}` });

export function telegramAnswer(
  raw: string,
  tokenOk: boolean,
  chatId: string,
  messageId: number,
  fault: Fault | undefined,
): { answer: Answer; body: unknown } {
  const parsed = parseJson(raw);
  const body = parsed.ok ? parsed.value : raw;
  if (!tokenOk) return { answer: json(401, unauthorized), body };
  if (fault === "rate_limited") return { answer: json(429, tooMany, { "Retry-After": "5" }), body };
  if (fault === "server_error") return { answer: json(502, { ok: false, error_code: 502, description: "Bad Gateway" }), body };
  const message = parsed.ok ? telegramBody.safeParse(parsed.value) : undefined;
  if (!message?.success) return { answer: badRequest("message text is empty"), body };
  if (String(message.data.chat_id) !== chatId) return { answer: json(400, chatNotFound), body };
  const text = message.data.text ?? "";
  if (text.trim() === "") return { answer: json(400, emptyText), body };
  if (message.data.parse_mode === "HTML") {
    const problem = htmlProblem(text);
    if (problem) return { answer: badRequest(`can't parse entities: ${problem}`), body };
  }
  const shown = message.data.parse_mode === "HTML" ? plain(text) : text;
  if (shown.length > 4_096) return { answer: badRequest("message is too long"), body };
  const { entities: _entities, ...result } = sent.result;
  return {
    answer: json(200, { ok: true, result: { ...result, message_id: messageId, date: Math.floor(Date.now() / 1000), text: shown } }),
    body,
  };
}
