import { z } from "zod";
import { loadConfig } from "../config/config.ts";
import { blankAsUnset } from "../health/config.ts";

const optionalUrl = z.url().optional();

const variables = z.object({
  ALERT_SLACK_WEBHOOK_URL: optionalUrl,
  ALERT_DISCORD_WEBHOOK_URL: optionalUrl,
  ALERT_TELEGRAM_BOT_TOKEN: z.string().regex(/^\d{1,20}:[A-Za-z0-9_-]{10,100}$/, "must look like <bot id>:<secret>").optional(),
  ALERT_TELEGRAM_CHAT_ID: z.string().regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, "a numeric chat id or @channelname").optional(),
  ALERT_TELEGRAM_API_BASE_URL: z.url().default("https://api.telegram.org"),
  ALERT_REALERT_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(3_600),
  ALERT_MIN_STATUS: z.enum(["warn", "fail"]).default("warn"),
  /** Better news (recovery, fail→warn) is announced once it has held this long: one alert for a flapping reading. */
  ALERT_CLEAR_AFTER_SECONDS: z.coerce.number().int().min(0).max(3_600).default(150),
  ALERT_SEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  ALERT_STATUS_PAGE_URL: optionalUrl,
  ATH_NOTIFY_MIN_MULTIPLE: z.coerce.number().min(1.01).max(1_000_000).optional(),
  ATH_NOTIFY_STEP: z.coerce.number().min(0.01).max(1_000_000).default(1),
  ATH_NOTIFY_WINDOW_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(3_600),
});

/**
 * Where alerts go and how often. Every channel is optional; with none configured, transitions are
 * still tracked (so enabling a channel later does not replay history). Webhook URLs and the bot
 * token are secrets: they are never logged nor put in an error.
 */
export const notifyEnv = z
  .preprocess(blankAsUnset, variables)
  .superRefine((env, ctx) => {
    if ((env.ALERT_TELEGRAM_BOT_TOKEN === undefined) !== (env.ALERT_TELEGRAM_CHAT_ID === undefined)) {
      ctx.addIssue({ code: "custom", path: ["ALERT_TELEGRAM_CHAT_ID"], message: "set both ALERT_TELEGRAM_BOT_TOKEN and ALERT_TELEGRAM_CHAT_ID, or neither" });
    }
  })
  .transform((env) => ({
    slack: env.ALERT_SLACK_WEBHOOK_URL ? { webhookUrl: env.ALERT_SLACK_WEBHOOK_URL } : undefined,
    discord: env.ALERT_DISCORD_WEBHOOK_URL ? { webhookUrl: env.ALERT_DISCORD_WEBHOOK_URL } : undefined,
    telegram: env.ALERT_TELEGRAM_BOT_TOKEN && env.ALERT_TELEGRAM_CHAT_ID
      ? { botToken: env.ALERT_TELEGRAM_BOT_TOKEN, chatId: env.ALERT_TELEGRAM_CHAT_ID, apiBaseUrl: env.ALERT_TELEGRAM_API_BASE_URL }
      : undefined,
    realertSeconds: env.ALERT_REALERT_SECONDS,
    clearAfterSeconds: env.ALERT_CLEAR_AFTER_SECONDS,
    minStatus: env.ALERT_MIN_STATUS,
    sendTimeoutMs: env.ALERT_SEND_TIMEOUT_MS,
    statusPageUrl: env.ALERT_STATUS_PAGE_URL,
    ath: env.ATH_NOTIFY_MIN_MULTIPLE === undefined
      ? undefined
      : { minMultiple: env.ATH_NOTIFY_MIN_MULTIPLE, step: env.ATH_NOTIFY_STEP, windowSeconds: env.ATH_NOTIFY_WINDOW_SECONDS },
  }));

export type NotifyConfig = z.infer<typeof notifyEnv>;

export const loadNotifyConfig = (env?: Record<string, string | undefined>): NotifyConfig => loadConfig(notifyEnv, env);
