import { z } from "zod";
import { attempt, type Channel, type Delivery, type PostOptions, postJson } from "./deliver.ts";
import { clip, fitLines, type Notification, SEVERITY_EMOJI } from "./message.ts";

/** Discord's execute-webhook body: `content` and up to ten `embeds`. */
export interface DiscordMessage {
  content: string;
  embeds: Array<{ title: string; description?: string; color: number; timestamp: string; url?: string }>;
  allowed_mentions: { parse: never[] };
}

const COLOUR: Record<Notification["severity"], number> = { pass: 0x16a34a, warn: 0xd97706, fail: 0xdc2626, info: 0x2563eb };

/**
 * Limits from Discord: content 2,000 characters, embed title 256, description 4,096. Mentions are
 * switched off, so a ticker named "@everyone" pings nobody.
 */
export function discordPayload(n: Notification): DiscordMessage {
  return {
    content: clip(`${SEVERITY_EMOJI[n.severity]} ${n.title}`, 2_000),
    embeds: [
      {
        title: clip(n.title, 256),
        ...(n.lines.length > 0 ? { description: fitLines(n.lines, 4_096).join("\n") } : {}),
        color: COLOUR[n.severity],
        timestamp: n.time,
        ...(n.link ? { url: n.link } : {}),
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

const discordError = z.object({ message: z.string(), code: z.number().optional(), retry_after: z.number().optional() });

/** Discord answers 204 (200 with `?wait=true`); errors are JSON `{message, code}`, 429 adds `retry_after`. */
export function createDiscordChannel(webhookUrl: string, options: PostOptions): Channel {
  return {
    name: "discord",
    send: (n): Promise<Delivery> => attempt("discord", async () => {
      const posted = await postJson(webhookUrl, discordPayload(n), options);
      if (posted.status === 204 || posted.status === 200) return { channel: "discord", ok: true, status: posted.status };
      let detail = "";
      try {
        const error = discordError.parse(JSON.parse(posted.text));
        detail = `: ${clip(error.message, 120)}${error.code !== undefined ? ` (${error.code})` : ""}${error.retry_after !== undefined ? `, retry after ${error.retry_after} s` : ""}`;
      } catch {
        // not Discord's JSON (a proxy's page): the status says enough
      }
      return { channel: "discord", ok: false, status: posted.status, error: `discord answered ${posted.status}${detail}` };
    }),
  };
}
