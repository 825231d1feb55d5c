import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startWebhookStandIns, type WebhookStandIns } from "../../dev/webhook-stand-ins/server.ts";
import { createEgress, transportEgress } from "../../supabase/functions/_shared/egress/fetch.ts";
import { createEgressPolicy, DEFAULT_MAX_BYTES } from "../../supabase/functions/_shared/egress/policy.ts";
import { staticResolver } from "../../supabase/functions/_shared/egress/resolver.ts";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { loadNotifyConfig } from "../../supabase/functions/_shared/notify/config.ts";
import { evaluateAndNotify } from "../../supabase/functions/_shared/notify/evaluate-and-notify.ts";
import { createPollerHandler } from "../../supabase/functions/_shared/poller/handler.ts";
import { envBearerSource } from "../../supabase/functions/_shared/sources/bearer.ts";
import type { SourceDeps } from "../../supabase/functions/_shared/sources/reader.ts";
import { captureLogs, expectNoSecrets, hex } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { resetPipeline, testHealthConfig } from "../helpers/health.ts";
import { addSource } from "../helpers/poller.ts";

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
  await db.sql`truncate peakwatch.sources cascade`;
  hooks.reset();
});

const SERVICE_KEY = `svc-${hex(12)}`;
const FEED_KEY = `feedkey${hex(10)}`;
const FEED_TOKEN = `feedtoken${hex(10)}`;

/** A transport that fails the way runtimes do: the whole URL, query and all, in the message. */
const failingTransport = ((input: RequestInfo | URL) =>
  Promise.reject(new TypeError(`error sending request for url (${String(input)}): connection refused`))) as typeof fetch;

const gates = { dexscreenerProfiles: { acquire: async () => true }, geckoterminal: { acquire: async () => true } };

async function pollOnce(sources: SourceDeps) {
  const handler = createPollerHandler(() => ({ sql: db.sql, keys: [SERVICE_KEY], sources: () => sources, settings: { retry: { retries: 0, baseMs: 1, capMs: 1 } } }));
  const response = await handler(new Request("http://functions.test/poller", { method: "POST", headers: { authorization: `Bearer ${SERVICE_KEY}` }, body: "{}" }));
  return { status: response.status, text: await response.text() };
}

/** Everything a secret could leak into after a poll: the source row, runs, health and its alerts. */
async function everywhere(logs: ReturnType<typeof captureLogs>, answer: string): Promise<string[]> {
  const rows = await db.sql<{ text: string }[]>`
    select coalesce(last_error, '') as text from peakwatch.sources
    union all select coalesce(error, '') || counts::text from peakwatch.runs`;
  const health = JSON.stringify(await evaluateHealth({ sql: db.sql, config: testHealthConfig() }));
  const alerts = await evaluateAndNotify(db.sql, {
    health: testHealthConfig(),
    notify: loadNotifyConfig({
      ALERT_SLACK_WEBHOOK_URL: hooks.slackWebhookUrl,
      ALERT_DISCORD_WEBHOOK_URL: hooks.discordWebhookUrl,
      ALERT_TELEGRAM_BOT_TOKEN: hooks.telegramBotToken,
      ALERT_TELEGRAM_CHAT_ID: hooks.telegramChatId,
      ALERT_TELEGRAM_API_BASE_URL: hooks.telegramApiBaseUrl,
    }),
  });
  expect(hooks.requests.length, "the failing source raised an alert").toBeGreaterThan(0);
  return [answer, health, JSON.stringify(alerts.deliveries), ...rows.map((row) => row.text), ...hooks.requests.map((r) => JSON.stringify(r.body)), ...logs.lines()];
}

describe("a secret in a feed URL", () => {
  it("never reaches sources.last_error, runs, the poller's answer, health, logs or webhook messages", async () => {
    await addSource(db.sql, { name: "keyed-feed", kind: "http_feed", config: { url: `https://feed.example/calls?api_key=${FEED_KEY}`, tokenEnv: "PEAKWATCH_FEED_TOKEN_KEYED" } });
    const logs = captureLogs();
    try {
      const sources: SourceDeps = {
        bearer: envBearerSource((name) => ({ PEAKWATCH_FEED_TOKEN_KEYED: FEED_TOKEN, PEAKWATCH_FEED_TOKEN_KEYED_HOSTS: "feed.example" })[name]),
        gates,
        egress: transportEgress(failingTransport),
      };
      const answer = await pollOnce(sources);
      expect(answer.status).toBe(200);
      const [row] = await db.sql<{ last_error: string }[]>`select last_error from peakwatch.sources where name = 'keyed-feed'`;
      // The error is still useful: what failed and where, without the path or query.
      expect(row!.last_error).toContain("https://feed.example");
      expectNoSecrets(await everywhere(logs, answer.text), [FEED_KEY, FEED_TOKEN], "tables, answer, health, alerts and logs");
    } finally {
      logs.restore();
    }
  });

  it("a feed at a private address is refused and counted, naming only scheme://host", async () => {
    await addSource(db.sql, { name: "inside-feed", kind: "http_feed", config: { url: `https://inside.example/calls?api_key=${FEED_KEY}` } });
    let sent = 0;
    const egress = createEgress(
      createEgressPolicy({ localDev: false, allowPrivateHosts: [], maxBytes: DEFAULT_MAX_BYTES, resolver: staticResolver({ "inside.example": ["169.254.169.254"] }) }),
      (() => (sent++, Promise.resolve(new Response("[]")))) as typeof fetch,
    );
    const logs = captureLogs();
    try {
      const answer = await pollOnce({ bearer: envBearerSource(() => undefined), gates, egress });
      expect(sent).toBe(0);
      const [row] = await db.sql<{ last_error: string }[]>`select last_error from peakwatch.sources where name = 'inside-feed'`;
      expect(row!.last_error).toMatch(/^EgressError: feed request to https:\/\/inside\.example refused: it resolves to a link-local address/);
      const [counters] = await db.sql<{ errors: number }[]>`select sum(errors)::int as errors from peakwatch.source_counters`;
      expect(counters!.errors).toBe(1);
      expectNoSecrets(await everywhere(logs, answer.text), [FEED_KEY], "tables, answer, health, alerts and logs");
    } finally {
      logs.restore();
    }
  });
});

describe("a secret in a webhook path", () => {
  it("never reaches a delivery error or a log, whatever the channel's transport says", async () => {
    const slackSecret = `slacksecret${hex(8)}`;
    const discordSecret = `discordsecret${hex(8)}`;
    const telegramSecret = `TgSecret${hex(8)}`;
    const logs = captureLogs();
    try {
      await addSource(db.sql, { name: "down-feed", kind: "http_feed", config: { url: "https://feed.example/calls" } });
      await pollOnce({ bearer: envBearerSource(() => undefined), gates, egress: transportEgress(failingTransport) });
      const outcome = await evaluateAndNotify(db.sql, {
        health: testHealthConfig(),
        notify: loadNotifyConfig({
          ALERT_SLACK_WEBHOOK_URL: `https://hooks.slack.com/services/T0000/B0000/${slackSecret}`,
          ALERT_DISCORD_WEBHOOK_URL: `https://discord.com/api/webhooks/123456/${discordSecret}`,
          ALERT_TELEGRAM_BOT_TOKEN: `123456:${telegramSecret}`,
          ALERT_TELEGRAM_CHAT_ID: "-100123",
        }),
        egress: transportEgress(failingTransport),
      });
      expect(outcome.deliveries.map((d) => d.ok)).toEqual([false, false, false]);
      const texts = [JSON.stringify(outcome), ...logs.lines(), ...(await db.sql<{ t: string }[]>`select coalesce(error, '') as t from peakwatch.runs`).map((r) => r.t)];
      expectNoSecrets(texts, [slackSecret, discordSecret, telegramSecret], "deliveries, logs and runs");
    } finally {
      logs.restore();
    }
  });
});
