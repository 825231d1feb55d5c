import type { Egress } from "../egress/fetch.ts";
import type { NotifyConfig } from "./config.ts";
import type { Channel } from "./deliver.ts";
import { createDiscordChannel } from "./discord.ts";
import { createSlackChannel } from "./slack.ts";
import { createTelegramChannel } from "./telegram.ts";

/** The channels the configuration names, in a fixed order. */
export function configuredChannels(config: NotifyConfig, fetchImpl?: typeof fetch, egress?: Egress): Channel[] {
  const options = { timeoutMs: config.sendTimeoutMs, ...(fetchImpl ? { fetch: fetchImpl } : {}), ...(egress ? { egress } : {}) };
  const channels: Channel[] = [];
  if (config.slack) channels.push(createSlackChannel(config.slack.webhookUrl, options));
  if (config.discord) channels.push(createDiscordChannel(config.discord.webhookUrl, options));
  if (config.telegram) channels.push(createTelegramChannel(config.telegram, options));
  return channels;
}
