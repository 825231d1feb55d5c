/**
 * Local stand-ins for Slack, Discord and Telegram: one loopback server speaking each service's
 * request and answer formats, recording every request. Start in-process on port 0:
 *
 *   const hooks = await startWebhookStandIns();
 *   ALERT_SLACK_WEBHOOK_URL = hooks.slackWebhookUrl, ALERT_DISCORD_WEBHOOK_URL = hooks.discordWebhookUrl,
 *   ALERT_TELEGRAM_API_BASE_URL = hooks.telegramApiBaseUrl (+ hooks.telegramBotToken, hooks.telegramChatId)
 *
 * `hooks.fail(provider, fault, times)` makes the next answers a rate limit or a server error.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Answer, Fault } from "./answer.ts";
import { discordAnswer } from "./discord.ts";
import { slackAnswer } from "./slack.ts";
import { telegramAnswer } from "./telegram.ts";

export type Provider = "slack" | "discord" | "telegram";

export interface RecordedWebhook {
  provider: Provider;
  path: string;
  contentType: string;
  /** The parsed JSON body (or the raw text when it was not JSON). */
  body: unknown;
  status: number;
  answer: string;
}

export interface WebhookStandIns {
  url: string;
  slackWebhookUrl: string;
  discordWebhookUrl: string;
  telegramApiBaseUrl: string;
  telegramBotToken: string;
  telegramChatId: string;
  requests: RecordedWebhook[];
  received(provider: Provider): RecordedWebhook[];
  fail(provider: Provider, fault: Fault, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

const SLACK_PATH = "/slack/services/T0PEAKWATCH/B0HEALTH/standinsecretstandinsecret";
const DISCORD_PATH = "/discord/api/webhooks/1234567890/stand-in-webhook-token";
const TELEGRAM_TOKEN = "123456789:AAstandInTokenForPeakwatchTests00";
const TELEGRAM_CHAT = "-1001234567890";

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (raw += chunk));
    request.on("end", () => resolve(raw));
    request.on("error", reject);
  });

export async function startWebhookStandIns(options: { port?: number; host?: string } = {}): Promise<WebhookStandIns> {
  const requests: RecordedWebhook[] = [];
  const faults = new Map<Provider, Fault[]>();
  let messageId = 100;
  const nextFault = (provider: Provider) => faults.get(provider)?.shift();

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://stand-in");
    const raw = await readBody(request);
    let provider: Provider | undefined;
    let result: { answer: Answer; body: unknown } | undefined;
    if (request.method === "POST" && url.pathname === SLACK_PATH) {
      provider = "slack";
      result = slackAnswer(raw, nextFault("slack"));
    } else if (request.method === "POST" && url.pathname === DISCORD_PATH) {
      provider = "discord";
      result = discordAnswer(raw, url.searchParams.get("wait") === "true", nextFault("discord"));
    } else if (request.method === "POST" && /^\/telegram\/bot[^/]+\/sendMessage$/.test(url.pathname)) {
      provider = "telegram";
      const token = url.pathname.slice("/telegram/bot".length, -"/sendMessage".length);
      result = telegramAnswer(raw, token === TELEGRAM_TOKEN, TELEGRAM_CHAT, messageId++, nextFault("telegram"));
    }
    const answer = result?.answer ?? { status: 404, contentType: "text/plain", body: "404 page not found" };
    if (provider && result) {
      requests.push({ provider, path: url.pathname, contentType: request.headers["content-type"] ?? "", body: result.body, status: answer.status, answer: answer.body });
    }
    response.writeHead(answer.status, { ...(answer.contentType ? { "Content-Type": answer.contentType } : {}), ...answer.headers });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  return {
    url,
    slackWebhookUrl: `${url}${SLACK_PATH}`,
    discordWebhookUrl: `${url}${DISCORD_PATH}`,
    telegramApiBaseUrl: `${url}/telegram`,
    telegramBotToken: TELEGRAM_TOKEN,
    telegramChatId: TELEGRAM_CHAT,
    requests,
    received: (provider) => requests.filter((r) => r.provider === provider),
    fail(provider, fault, times = 1) {
      faults.set(provider, [...(faults.get(provider) ?? []), ...Array<Fault>(times).fill(fault)]);
    },
    reset() {
      requests.length = 0;
      faults.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
