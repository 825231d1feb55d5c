import { describe, expect, it } from "vitest";
import { loadHealthConfig } from "../../supabase/functions/_shared/health/config.ts";
import { configuredChannels } from "../../supabase/functions/_shared/notify/channels.ts";
import { loadNotifyConfig } from "../../supabase/functions/_shared/notify/config.ts";

describe("alert config", () => {
  it("with nothing set there is no channel, a one-hour re-alert and no ATH notifications", () => {
    const config = loadNotifyConfig({});
    expect(configuredChannels(config)).toEqual([]);
    expect(config).toMatchObject({ realertSeconds: 3_600, minStatus: "warn", ath: undefined });
  });

  it("treats `NAME=` lines copied from .env.example as unset", () => {
    const blank = { ALERT_SLACK_WEBHOOK_URL: "", ALERT_TELEGRAM_BOT_TOKEN: "", ALERT_TELEGRAM_CHAT_ID: "", ATH_NOTIFY_MIN_MULTIPLE: "" };
    expect(configuredChannels(loadNotifyConfig(blank))).toEqual([]);
    expect(loadHealthConfig({ HEALTH_THRESHOLDS: "", HEALTH_CREDENTIALS: "" }).credentials).toEqual([]);
  });

  it("builds one channel per configured service, in a fixed order", () => {
    const config = loadNotifyConfig({
      ALERT_TELEGRAM_BOT_TOKEN: "123456:abcdefghijklmnop",
      ALERT_TELEGRAM_CHAT_ID: "-100123",
      ALERT_DISCORD_WEBHOOK_URL: "https://discord.com/api/webhooks/1/x",
      ALERT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x",
      ATH_NOTIFY_MIN_MULTIPLE: "2",
    });
    expect(configuredChannels(config).map((c) => c.name)).toEqual(["slack", "discord", "telegram"]);
    expect(config.ath).toEqual({ minMultiple: 2, step: 1, windowSeconds: 3_600 });
  });

  it("refuses half a Telegram setup and a token that is not one, naming the variable", () => {
    expect(() => loadNotifyConfig({ ALERT_TELEGRAM_BOT_TOKEN: "123456:abcdefghijklmnop" })).toThrow(/ALERT_TELEGRAM_CHAT_ID: set both/);
    expect(() => loadNotifyConfig({ ALERT_TELEGRAM_BOT_TOKEN: "nope", ALERT_TELEGRAM_CHAT_ID: "1" })).toThrow(/ALERT_TELEGRAM_BOT_TOKEN/);
    expect(() => loadNotifyConfig({ ALERT_MIN_STATUS: "pass" })).toThrow(/ALERT_MIN_STATUS/);
  });
});
