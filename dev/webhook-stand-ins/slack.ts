/**
 * Slack incoming webhook (POST https://hooks.slack.com/services/T…/B…/…): 200 with the text body
 * `ok`, or an HTTP error whose body is a short code. Codes and statuses from Slack's changelog
 * "Improving error conditions for Incoming Webhooks" (tests/fixtures/slack/). Block Kit limits:
 * at most 50 blocks, header text 150 characters, section text 3,000, context 10 elements.
 */
import { z } from "zod";
import responses from "../../tests/fixtures/slack/incoming-webhook-responses.json" with { type: "json" };
import { type Answer, type Fault, parseJson, text } from "./answer.ts";

const textObject = (max: number) => z.object({ type: z.enum(["plain_text", "mrkdwn"]), text: z.string().min(1).max(max), emoji: z.boolean().optional() });
const block = z.discriminatedUnion("type", [
  z.object({ type: z.literal("header"), text: textObject(150).extend({ type: z.literal("plain_text") }) }),
  z.object({ type: z.literal("section"), text: textObject(3_000) }),
  z.object({ type: z.literal("context"), elements: z.array(textObject(2_000)).min(1).max(10) }),
  z.object({ type: z.literal("divider") }),
]);
export const slackBody = z
  .object({ text: z.string().optional(), blocks: z.array(block).max(50).optional() })
  .refine((body) => (body.text !== undefined && body.text.trim() !== "") || (body.blocks?.length ?? 0) > 0, "text or blocks");

const answer = (name: keyof typeof responses): Answer => text(responses[name].status, responses[name].body);

export function slackAnswer(raw: string, fault: Fault | undefined): { answer: Answer; body: unknown } {
  const parsed = parseJson(raw);
  const body = parsed.ok ? parsed.value : raw;
  if (fault === "server_error") return { answer: answer("rollup_error"), body };
  if (fault === "rate_limited") return { answer: { ...text(429, "rate_limited"), headers: { "Retry-After": "1" } }, body };
  if (!parsed.ok || !slackBody.safeParse(parsed.value).success) return { answer: answer("invalid_payload"), body };
  return { answer: answer("ok"), body };
}
