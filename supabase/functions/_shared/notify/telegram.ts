import { z } from "zod";
import { attempt, type Channel, type Delivery, type PostOptions, postJson } from "./deliver.ts";
import { clip, fitLines, type Notification, SEVERITY_EMOJI } from "./message.ts";

/** The Bot API's sendMessage body with HTML formatting. */
export interface TelegramMessage {
  chat_id: string;
  text: string;
  parse_mode: "HTML";
  link_preview_options: { is_disabled: true };
}

// Telegram's HTML mode needs exactly these three escaped.
const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Text at most 4,096 characters; lines are dropped whole so no tag is ever cut in half. */
export function telegramPayload(chatId: string, n: Notification): TelegramMessage {
  const title = `<b>${escapeHtml(clip(`${SEVERITY_EMOJI[n.severity]} ${n.title}`, 300))}</b>`;
  const link = n.link ? `<a href="${escapeHtml(n.link).replace(/"/g, "&quot;")}">status page</a>` : "";
  const room = 4_096 - title.length - link.length - 2;
  const lines = fitLines(n.lines.map(escapeHtml), room);
  return {
    chat_id: chatId,
    text: [title, ...lines, ...(link ? [link] : [])].join("\n"),
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
  };
}

const telegramAnswer = z.union([
  z.object({ ok: z.literal(true), result: z.object({ message_id: z.number() }) }),
  z.object({ ok: z.literal(false), error_code: z.number(), description: z.string() }),
]);

/** POST <base>/bot<token>/sendMessage; answers `{ok: true, result}` or `{ok: false, error_code, description}`. */
export function createTelegramChannel(config: { botToken: string; chatId: string; apiBaseUrl: string }, options: PostOptions): Channel {
  const url = `${config.apiBaseUrl.replace(/\/+$/, "")}/bot${config.botToken}/sendMessage`;
  return {
    name: "telegram",
    send: (n): Promise<Delivery> => attempt("telegram", async () => {
      const posted = await postJson(url, telegramPayload(config.chatId, n), options);
      let answer: z.infer<typeof telegramAnswer> | undefined;
      try {
        answer = telegramAnswer.parse(JSON.parse(posted.text));
      } catch {
        answer = undefined;
      }
      if (posted.status === 200 && answer?.ok) return { channel: "telegram", ok: true, status: 200 };
      const detail = answer && !answer.ok ? `: ${clip(answer.description.replaceAll(config.botToken, "***"), 160)}` : "";
      return { channel: "telegram", ok: false, status: posted.status, error: `telegram answered ${posted.status}${detail}` };
    }),
  };
}
