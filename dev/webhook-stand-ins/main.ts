/**
 * `tsx dev/webhook-stand-ins/main.ts`: the Slack, Discord and Telegram stand-ins on one loopback
 * port for the local stack; prints the ALERT_* values that point the alerts at them and logs every
 * message they receive. LOCAL only: nothing leaves the machine.
 */
import { z } from "zod";
import { startWebhookStandIns } from "./server.ts";

const env = z.object({ WEBHOOK_STANDIN_PORT: z.coerce.number().int().min(1).max(65_535).default(54_333) }).parse(process.env);
const hooks = await startWebhookStandIns({ port: env.WEBHOOK_STANDIN_PORT });

console.log(`webhook-stand-ins: LOCAL stand-ins for Slack, Discord and Telegram at ${hooks.url}
  ALERT_SLACK_WEBHOOK_URL=${hooks.slackWebhookUrl}
  ALERT_DISCORD_WEBHOOK_URL=${hooks.discordWebhookUrl}
  ALERT_TELEGRAM_API_BASE_URL=${hooks.telegramApiBaseUrl}
  ALERT_TELEGRAM_BOT_TOKEN=${hooks.telegramBotToken}
  ALERT_TELEGRAM_CHAT_ID=${hooks.telegramChatId}`);

let seen = 0;
setInterval(() => {
  for (const request of hooks.requests.slice(seen)) {
    console.log(JSON.stringify({ event: "webhook.received", provider: request.provider, status: request.status, body: request.body }));
  }
  seen = hooks.requests.length;
}, 500).unref();

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void hooks.close().then(() => process.exit(0)));
