import { attempt, type Channel, type Delivery, type PostOptions, postJson } from "./deliver.ts";
import { clip, fitLines, type Notification, plainText, SEVERITY_EMOJI } from "./message.ts";

/** Slack's incoming-webhook body: `text` (the notification fallback) and Block Kit `blocks`. */
export interface SlackMessage {
  text: string;
  blocks: Array<
    | { type: "header"; text: { type: "plain_text"; text: string; emoji: true } }
    | { type: "section"; text: { type: "mrkdwn"; text: string } }
    | { type: "context"; elements: Array<{ type: "mrkdwn"; text: string }> }
  >;
}

// mrkdwn treats &, < and > as control characters (links, mentions); everything else is literal.
const escapeMrkdwn = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Limits from Block Kit: header text 150 characters, section text 3,000. */
export function slackPayload(n: Notification): SlackMessage {
  const blocks: SlackMessage["blocks"] = [{ type: "header", text: { type: "plain_text", text: clip(`${SEVERITY_EMOJI[n.severity]} ${n.title}`, 150), emoji: true } }];
  if (n.lines.length > 0) blocks.push({ type: "section", text: { type: "mrkdwn", text: fitLines(n.lines.map(escapeMrkdwn), 3_000).join("\n") } });
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: n.link ? `<${n.link}|status page> · ${n.time}` : n.time }] });
  return { text: clip(plainText(n), 3_000), blocks };
}

/** Slack answers 200 with the body `ok`; errors are short codes (`invalid_payload`, `channel_not_found`, …). */
export function createSlackChannel(webhookUrl: string, options: PostOptions): Channel {
  return {
    name: "slack",
    send: (n): Promise<Delivery> => attempt("slack", async () => {
      const posted = await postJson(webhookUrl, slackPayload(n), options);
      if (posted.status === 200) return { channel: "slack", ok: true, status: 200 };
      const code = posted.text.trim();
      return { channel: "slack", ok: false, status: posted.status, error: `slack answered ${posted.status}${/^[a-z_]{1,60}$/.test(code) ? `: ${code}` : ""}` };
    }),
  };
}
