import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startWebhookStandIns, type WebhookStandIns } from "../../dev/webhook-stand-ins/server.ts";
import { loadNotifyConfig } from "../../supabase/functions/_shared/notify/config.ts";
import { evaluateAndNotify } from "../../supabase/functions/_shared/notify/evaluate-and-notify.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { insertRuns, resetPipeline, testHealthConfig } from "../helpers/health.ts";

let db: TestDatabase;
let hooks: WebhookStandIns;
beforeAll(async () => {
  db = await createTestDatabase();
  hooks = await startWebhookStandIns();
});
afterAll(async () => {
  await hooks.close();
  await db.drop();
});
beforeEach(async () => {
  await resetPipeline(db.sql);
  hooks.reset();
});

const STATUS_PAGE = "https://peakwatch.example/functions/v1/health/status";
const notifyConfig = (env: Record<string, string> = {}) =>
  loadNotifyConfig({
    ALERT_SLACK_WEBHOOK_URL: hooks.slackWebhookUrl,
    ALERT_DISCORD_WEBHOOK_URL: hooks.discordWebhookUrl,
    ALERT_TELEGRAM_BOT_TOKEN: hooks.telegramBotToken,
    ALERT_TELEGRAM_CHAT_ID: hooks.telegramChatId,
    ALERT_TELEGRAM_API_BASE_URL: hooks.telegramApiBaseUrl,
    ALERT_STATUS_PAGE_URL: STATUS_PAGE,
    // Recoveries at once unless a test is about hysteresis.
    ALERT_CLEAR_AFTER_SECONDS: "0",
    ...env,
  });
/** One evaluation as the orchestrator runs it each minute (a fresh call: nothing kept in memory). */
const tick = (env: Record<string, string> = {}) => evaluateAndNotify(db.sql, { health: testHealthConfig(), notify: notifyConfig(env) });

/** The tracker's last ok run, `secondsAgo`. */
async function trackerLastOk(secondsAgo: number) {
  await db.sql`truncate peakwatch.runs`;
  await insertRuns(db.sql, [{ outcome: "ok", secondsAgo }]);
}

const texts = () =>
  hooks.requests.map((r) => {
    const body = r.body as { text?: string; content?: string; embeds?: Array<{ description?: string }> };
    return r.provider === "discord" ? `${body.content}\n${body.embeds?.[0]?.description ?? ""}` : body.text ?? "";
  });

describe("alerts on transitions", () => {
  it("a healthy pipeline announces nothing and records every check as passing", async () => {
    await trackerLastOk(10);
    const outcome = await tick();
    expect(outcome.status).toBe("pass");
    expect(outcome.deliveries).toEqual([]);
    expect(hooks.requests).toEqual([]);
    const [row] = await db.sql<{ n: number; bad: number }[]>`
      select count(*)::int as n, count(*) filter (where status <> 'pass')::int as bad from peakwatch.alert_state`;
    expect(row!.n).toBe(outcome.report.checks.length);
    expect(row!.bad).toBe(0);
  });

  it("a stopped tracker is announced once on each channel in its own format, and a restart does not re-send", async () => {
    await trackerLastOk(10);
    await tick();
    await trackerLastOk(700);
    const outcome = await tick();
    expect(outcome.status).toBe("fail");
    expect(outcome.plan.transitions.map((t) => `${t.key} ${t.from}>${t.to}`)).toEqual(["tracker:lastSuccessAge pass>fail"]);
    expect(hooks.requests.map((r) => [r.provider, r.status])).toEqual(
      expect.arrayContaining([["slack", 200], ["discord", 204], ["telegram", 200]]),
    );
    expect(hooks.requests).toHaveLength(3);

    const slack = hooks.received("slack")[0]!.body as { text: string; blocks: Array<{ type: string }> };
    expect(slack.text).toContain("peakwatch FAIL: 1 failing");
    expect(slack.text).toContain("tracker:lastSuccessAge: pass → fail");
    expect(slack.blocks.map((b) => b.type)).toEqual(["header", "section", "context"]);
    const discord = hooks.received("discord")[0]!.body as { embeds: Array<{ color: number; url: string }> };
    expect(discord.embeds[0]).toMatchObject({ color: 0xdc2626, url: STATUS_PAGE });
    const telegram = hooks.received("telegram")[0]!.body as { chat_id: string; parse_mode: string; text: string };
    expect(telegram).toMatchObject({ chat_id: hooks.telegramChatId, parse_mode: "HTML" });
    expect(telegram.text).toContain(`<a href="${STATUS_PAGE}">status page</a>`);

    // The next minute, and a restarted isolate (state is only in the table): nothing new.
    await tick();
    await evaluateAndNotify(db.sql, { health: testHealthConfig(), notify: notifyConfig() });
    expect(hooks.requests).toHaveLength(3);
  });

  it("each step of pass → warn → fail is announced", async () => {
    await trackerLastOk(10);
    await tick();
    await trackerLastOk(200);
    expect((await tick()).plan.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(["pass>warn"]);
    await trackerLastOk(700);
    expect((await tick()).plan.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(["warn>fail"]);
    expect(hooks.received("slack")).toHaveLength(2);
  });

  it("a long outage is announced again after the re-alert interval", async () => {
    await trackerLastOk(700);
    await tick();
    hooks.reset();
    await tick();
    expect(hooks.requests).toEqual([]);
    await db.sql`update peakwatch.alert_state set notified_at = now() - interval '61 minutes' where check_key = 'tracker:lastSuccessAge'`;
    const outcome = await tick();
    expect(outcome.plan.reminders.map((r) => r.key)).toEqual(["tracker:lastSuccessAge"]);
    expect(hooks.requests).toHaveLength(3);
    expect(texts().every((text) => text.includes("tracker:lastSuccessAge still fail"))).toBe(true);
    await tick();
    expect(hooks.requests).toHaveLength(3);
  });

  it("recovery sends exactly one recovery notification per channel", async () => {
    await trackerLastOk(700);
    await tick();
    hooks.reset();
    await trackerLastOk(5);
    const outcome = await tick();
    expect(outcome.status).toBe("pass");
    expect(outcome.plan.transitions.map((t) => `${t.key} ${t.from}>${t.to}`)).toEqual(["tracker:lastSuccessAge fail>pass"]);
    expect(hooks.requests.map((r) => r.provider).sort()).toEqual(["discord", "slack", "telegram"]);
    expect(texts().every((text) => text.includes("peakwatch recovered: all checks pass"))).toBe(true);
    await tick();
    await tick();
    expect(hooks.requests).toHaveLength(3);
  });

  it("when every channel fails the change stays in the outbox, and the next evaluation's drain delivers it once", async () => {
    await trackerLastOk(10);
    await tick();
    await trackerLastOk(700);
    hooks.fail("slack", "server_error");
    hooks.fail("discord", "rate_limited");
    hooks.fail("telegram", "rate_limited");
    const failed = await tick();
    expect(failed.deliveryFailed).toBe(true);
    expect(failed.plan.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(["pass>fail"]);
    expect(failed.deliveries.map((d) => d.error).sort()).toEqual([
      "discord answered 429: You are being rate limited., retry after 0.5 s",
      "slack answered 500: rollup_error",
      "telegram answered 429: Too Many Requests: retry after 5",
    ]);
    const [pending] = await db.sql<{ status: string; attempts: number; last_error: string }[]>`select status, attempts, last_error from peakwatch.alert_outbox`;
    expect(pending).toMatchObject({ status: "pending", attempts: 1, last_error: expect.stringContaining("slack answered 500") });

    const retried = await tick();
    expect(retried.deliveryFailed).toBe(false);
    expect(retried.plan.transitions).toEqual([]);
    expect(retried.outbox).toMatchObject({ sent: 1, retrying: 0 });
    expect(hooks.requests.filter((r) => r.status < 300).map((r) => r.provider).sort()).toEqual(["discord", "slack", "telegram"]);
    await tick();
    expect(hooks.requests.filter((r) => r.status < 300)).toHaveLength(3);
  });

  it("no transaction is open while a webhook is being sent", async () => {
    await trackerLastOk(700);
    let openTransactions = -1;
    const probe = {
      name: "probe",
      send: async () => {
        const [row] = await db.connect(1)<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`;
        openTransactions = row!.n;
        return { channel: "probe", ok: true, status: 200 };
      },
    };
    await evaluateAndNotify(db.sql, { health: testHealthConfig(), notify: notifyConfig(), channels: [probe] });
    expect(openTransactions).toBe(0);
  });

  it("a sender that died after sending, before marking, is taken over once: sent again to the open channels, and the outbox says so", async () => {
    await trackerLastOk(700);
    await tick();
    hooks.reset();
    // As if the process had died between the send and the mark.
    await db.sql`update peakwatch.alert_outbox set status = 'sending', delivered_to = '{}', last_attempt_at = now() - interval '3 minutes'`;
    const outcome = await tick();
    expect(outcome.outbox).toMatchObject({ resent: 1, sent: 1 });
    expect(hooks.requests).toHaveLength(3);
    const [row] = await db.sql<{ status: string; attempts: number }[]>`select status, attempts from peakwatch.alert_outbox`;
    expect(row).toEqual({ status: "sent", attempts: 2 });
    await tick();
    expect(hooks.requests).toHaveLength(3);
  });

  it("hysteresis: a reading flapping across a threshold every minute sends one alert, not one a minute", async () => {
    const flapping = { ALERT_CLEAR_AFTER_SECONDS: "150" };
    await trackerLastOk(10);
    await tick(flapping);
    for (let i = 0; i < 3; i++) {
      await trackerLastOk(200);
      await tick(flapping);
      await trackerLastOk(10);
      await tick(flapping);
    }
    expect(hooks.received("slack")).toHaveLength(1);
    // Once the better status has held long enough, the recovery is announced, once.
    await db.sql`update peakwatch.alert_state set observed_since = now() - interval '151 seconds' where check_key = 'tracker:lastSuccessAge'`;
    const recovered = await tick(flapping);
    expect(recovered.plan.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(["warn>pass"]);
    expect(hooks.received("slack")).toHaveLength(2);
  });

  it("one channel failing does not hold back the others; they are not sent the same change twice, the failed one is retried", async () => {
    await trackerLastOk(10);
    await tick();
    await trackerLastOk(700);
    hooks.fail("discord", "server_error");
    const outcome = await tick();
    expect(outcome.deliveries.filter((d) => d.ok).map((d) => d.channel).sort()).toEqual(["slack", "telegram"]);
    expect(outcome.counts).toMatchObject({ alertsDelivered: 2, alertDeliveryFailures: 1, alertOutboxRetrying: 1 });
    await tick();
    await tick();
    // The next drain retries only the channel that failed.
    expect(hooks.received("slack")).toHaveLength(1);
    expect(hooks.received("telegram")).toHaveLength(1);
    expect(hooks.received("discord").length).toBeGreaterThanOrEqual(2);
  });

  it("two evaluations at once announce a change once", async () => {
    await trackerLastOk(10);
    await tick();
    await trackerLastOk(700);
    await Promise.all([tick(), tick(), tick()]);
    expect(hooks.requests.map((r) => r.provider).sort()).toEqual(["discord", "slack", "telegram"]);
  });

  it("without a configured channel, changes are still tracked, so enabling one later replays nothing", async () => {
    await trackerLastOk(700);
    const silent = await evaluateAndNotify(db.sql, { health: testHealthConfig(), notify: loadNotifyConfig({}) });
    expect(silent.plan.transitions).toHaveLength(1);
    expect(hooks.requests).toEqual([]);
    await tick();
    expect(hooks.requests).toEqual([]);
  });

  it("returns counts for the orchestrator's run record", async () => {
    await trackerLastOk(700);
    const { counts } = await tick();
    expect(counts).toMatchObject({
      healthStatus: 2,
      healthFailing: 1,
      alertTransitions: 1,
      alertsDelivered: 3,
      alertDeliveryFailures: 0,
      alertLockBusy: 0,
      healthDueCount: 0,
      athAlerts: 0,
    });
    expect(Object.values(counts).every((value) => typeof value === "number" && Number.isFinite(value))).toBe(true);
  });
});

describe("new-ATH notifications", () => {
  const ath = { ATH_NOTIFY_MIN_MULTIPLE: "2", ATH_NOTIFY_STEP: "1" };

  async function callAt(multiple: number) {
    await db.sql`
      update peakwatch.calls set ath_price_usd = entry_price_usd * ${multiple}::numeric, ath_market_cap_usd = 1000000 * ${multiple}::numeric, ath_at = now()`;
  }

  it("a call at 2.5× its entry is announced once, again at 3.2×, never twice for one level", async () => {
    await trackerLastOk(10);
    const [tokenId] = await insertTokens(db.sql, 1, "solana", "athtoken");
    await db.sql`
      insert into peakwatch.calls (source_id, external_id, token_id, ticker, group_name, called_at, entry_price_usd, entry_market_cap_usd)
      values ((select id from peakwatch.sources where name = 'manual'), 'ath-1', ${tokenId!}, 'MOON', 'alpha group', now() - interval '1 hour', 0.001, 1000000)`;
    await tick(ath);
    hooks.reset();
    await callAt(1.5);
    expect((await tick(ath)).athAlerts).toBe(0);
    await callAt(2.5);
    expect((await tick(ath)).athAlerts).toBe(1);
    expect(hooks.requests).toHaveLength(3);
    expect(texts().every((text) => text.includes("MOON") && text.includes("2.50x since the call"))).toBe(true);
    expect((hooks.received("discord")[0]!.body as { content: string }).content).toContain("New ATH: 2x since the call");
    await callAt(2.9);
    expect((await tick(ath)).athAlerts).toBe(0);
    await callAt(3.2);
    expect((await tick(ath)).athAlerts).toBe(1);
    const [stored] = await db.sql<{ multiple: number }[]>`select multiple from peakwatch.ath_notifications`;
    expect(stored!.multiple).toBe(3);
    expect(hooks.requests).toHaveLength(6);
  });
});
