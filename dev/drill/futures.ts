/**
 * `npm run drill:futures` — issue 18's acceptance on the Tradovate stand-ins, in real time (SIMULATED
 * upstream). A scratch database built from the migrations, the 16 seeded futures streams enabled plus
 * a 1-minute stream per product, and the candles handler called once a minute as its one cron job
 * would — by two "isolates" whose runs overlap, so they contend for the account's socket. The auth
 * stand-in's tokens live --token-seconds (60). On the way: a socket dropped mid-chart, every md
 * token expired with a p-ticket on the next login, and one stream stopped mid-session. Prints:
 * missing and duplicate bars, peak sockets per account, md-token samples that were not valid,
 * drops retried and counted, how long the stopped stream took to turn red, and the health reading
 * over a simulated halt and weekend (on the calendar's clock; the live phase cannot wait for them).
 *
 *   npm run drill:futures -- [--minutes 20] [--token-seconds 60]
 *
 * Needs Postgres and Redis (the stack's settings), not `npm start`: its stand-ins listen on free ports.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { z } from "zod";
import { startTradovateStandIn } from "../auth-stand-ins/tradovate-server.ts";
import { startTradovateMdStandIn } from "../tradovate-md/server.ts";
import { createScratchDatabase, dropScratchDatabase } from "../lib/scratch-database.ts";
import { readStackSettings } from "../lib/settings.ts";
import { WebSocket } from "ws";

process.env.PEAKWATCH_LOCAL_DEV = "1";
const { calendarFor } = await import("../../supabase/functions/_shared/candles/calendars.ts");
const { CME_GLOBEX } = await import("../../supabase/functions/_shared/candles/cme-calendar.ts");
const { createCandlesHandler } = await import("../../supabase/functions/_shared/candles/handler.ts");
const { loadMarketHolidays } = await import("../../supabase/functions/_shared/candles/sql/market-holidays.ts");
const { timeframeMs, timeframeSchema } = await import("../../supabase/functions/_shared/candles/timeframes.ts");
const { postgresRefreshTokens } = await import("../../supabase/functions/_shared/credentials/refresh-tokens.ts");
const { buildRegistry } = await import("../../supabase/functions/_shared/credentials/registry.ts");
const { createCredentialStore } = await import("../../supabase/functions/_shared/credentials/store.ts");
const { createSql } = await import("../../supabase/functions/_shared/db/client.ts");
const { lateBars } = await import("../../supabase/functions/_shared/health/checks/candles.ts");
const { createRedis } = await import("../../supabase/functions/_shared/limits/redis.ts");
const { futuresCandles } = await import("../../supabase/functions/_shared/providers/tradovate-md/candles-wiring.ts");
const { TRADOVATE_COUNTERS_KEY } = await import("../../supabase/functions/_shared/providers/tradovate-md/provider.ts");

const { values: args } = parseArgs({ options: { minutes: { type: "string", default: "20" }, "token-seconds": { type: "string", default: "60" } } });
const options = z.object({ minutes: z.coerce.number().min(3).max(120), tokenSeconds: z.coerce.number().int().min(20).max(3_600) })
  .parse({ minutes: args.minutes, tokenSeconds: args["token-seconds"] });

const GRACE_MS = 60_000;
const KEY = "drill-service-key";
const log = (message: string) => console.log(`[drill ${new Date().toISOString().slice(11, 19)}] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { adminUrl, redisUrl } = readStackSettings();
const dbName = `pw_drill_futures_${randomBytes(3).toString("hex")}`;
log(`scratch database ${dbName} from the migrations`);
const dbUrl = await createScratchDatabase(adminUrl, dbName);
const sql = createSql(dbUrl, { max: 6, applicationName: "peakwatch-drill-futures" });
const redis = createRedis(redisUrl);
const keyPrefix = `drill:futures:${randomBytes(3).toString("hex")}:`;
const user = { name: "peakwatch-drill", password: `pw-${randomBytes(8).toString("hex")}`, sec: `sec-${randomBytes(8).toString("hex")}`, cid: 8 };
const auth = await startTradovateStandIn({ user, tokenLifetimeSeconds: options.tokenSeconds });
const md = await startTradovateMdStandIn({ auth, seed: 18, historyDays: 7 });

async function cleanUp() {
  await md.close().catch(() => {});
  await auth.close().catch(() => {});
  const keys = await redis.keys(`${keyPrefix}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys).catch(() => 0);
  redis.disconnect();
  await sql.end({ timeout: 2 }).catch(() => {});
  await dropScratchDatabase(adminUrl, dbName).catch(() => {});
}
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.once(event, (error) => {
    console.error(`drill:futures: ${error instanceof Error ? error.stack : String(error)}`);
    void cleanUp().finally(() => process.exit(2));
  });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

const secrets: Record<string, string> = { PEAKWATCH_CREDENTIAL_TRADOVATE_PASSWORD: user.password, PEAKWATCH_CREDENTIAL_TRADOVATE_SEC: user.sec };
const entries = [{
  name: "tradovate",
  strategy: "tradovate",
  config: { base_url: auth.url, username: user.name, app_id: "peakwatch", app_version: "1.0", cid: user.cid },
  enabled: true,
  source: "env" as const,
}];
const store = () =>
  createCredentialStore({ redis, keyPrefix, refreshTokens: postgresRefreshTokens(sql), registry: async () => buildRegistry(entries, (name) => secrets[name]) });
const env = {
  TRADOVATE_CREDENTIAL: "tradovate",
  TRADOVATE_MD_URL: md.url,
  TRADOVATE_SOCKET_WAIT_MS: 15_000,
  TRADOVATE_SESSION_RETRIES: 2,
  TRADOVATE_EOH_TIMEOUT_MS: 20_000,
  PEAKWATCH_REDIS_PREFIX: keyPrefix,
};
const isolate = () => {
  const futures = futuresCandles(sql, redis, env, { store: store(), provider: { openSocket: (url) => new WebSocket(url) as never, sessionIdleMs: 1_500 } });
  const handler = createCandlesHandler(() => ({
    sql,
    keys: [KEY],
    providers: () => ({ tradovate: futures.lanes()! }),
    calendarFor: futures.calendarFor,
    prepare: futures.prepare,
  }));
  return { futures, run: (timeBudgetMs: number) => handler(new Request("http://drill/functions/v1/candles", { method: "POST", headers: { apikey: KEY, "content-type": "application/json" }, body: JSON.stringify({ timeBudgetMs, trigger: "cron" }) })) };
};

// The seeded streams (5/15/30/60 minutes) plus 1-minute ones, enabled.
await sql`update peakwatch.instruments set enabled = true where provider = 'tradovate'`;
await sql`insert into peakwatch.candle_streams (instrument_id, timeframe) select id, '1m' from peakwatch.instruments where provider = 'tradovate'`;
const streams = await sql<{ id: number; symbol: string; timeframe: string }[]>`
  select s.id::int, i.symbol, s.timeframe from peakwatch.candle_streams s join peakwatch.instruments i on i.id = s.instrument_id
  where i.provider = 'tradovate' order by i.symbol, s.timeframe`;
log(`${streams.length} streams: ${[...new Set(streams.map((s) => s.symbol))].join(", ")} × ${[...new Set(streams.map((s) => s.timeframe))].join(", ")}; tokens live ${options.tokenSeconds} s`);

const a = isolate();
const b = isolate();
const runs: Promise<Response>[] = [];
const runStatus: Record<string, number> = {};
const track = (response: Promise<Response>) => {
  runs.push(response.then(async (r) => {
    runStatus[r.status] = (runStatus[r.status] ?? 0) + 1;
    if (r.status !== 200) log(`candles run answered ${r.status}: ${(await r.clone().text()).slice(0, 300)}`);
    return r;
  }, (error: unknown) => {
    runStatus.error = (runStatus.error ?? 0) + 1;
    log(`run failed: ${error instanceof Error ? error.message : String(error)}`);
    return new Response(null, { status: 599 });
  }));
};

// Samplers: is the md token the store hands out valid at the stand-in right now?
const sampler = store();
let mdSamples = 0;
let mdInvalid = 0;
// Samples between the injected revocation and the first md token issued after it are counted apart:
// until a socket is refused, nobody can know the token was revoked.
let revokedAtIssued: number | null = null;
let revokedSamples = 0;
let sampling = true;
const sampleLoop = (async () => {
  while (sampling) {
    const revokedWindow = revokedAtIssued !== null && auth.stats().mdTokensIssued === revokedAtIssued;
    try {
      const token = await sampler.getToken("tradovate", { kind: "md" });
      if (revokedWindow) revokedSamples += 1;
      else {
        mdSamples += 1;
        if (!auth.mdToken(token)) mdInvalid += 1;
      }
    } catch {
      mdSamples += 1;
      mdInvalid += 1;
    }
    await sleep(2_000);
  }
})();

const started = Date.now();
const endAt = started + options.minutes * 60_000;
const at = (fraction: number) => started + fraction * (endAt - started);
const events = [
  { at: at(0.3), done: false, name: "drop a socket mid-chart", fire: () => md.setFault("drop_mid_chart", { count: 1 }) },
  {
    at: at(0.45), done: false, name: "expire every md token, p-ticket on the next login", fire: () => {
      auth.setFault("penalty", { count: 1, pTimeSeconds: 2 });
      revokedAtIssued = auth.stats().mdTokensIssued;
      auth.expireMdTokens();
    },
  },
];
const stopped = streams.find((s) => s.symbol === "NQ" && s.timeframe === "1m")!;
const stopAt = at(0.6);
let stoppedLast: Date | null = null;
let stoppedAt = 0;
let redAfterMs: number | null = null;
let othersRed = 0;
let holidays = await loadMarketHolidays(sql, CME_GLOBEX);
const lookup = (name: string) => calendarFor(name, { holidays });

let nextMinute = Math.ceil(Date.now() / 60_000) * 60_000 + 2_000;
track(a.run(45_000));
while (Date.now() < endAt) {
  for (const event of events) if (!event.done && Date.now() >= event.at) {
    event.done = true;
    log(`fault: ${event.name}`);
    event.fire();
  }
  if (stoppedLast === null && Date.now() >= stopAt) {
    // Stopped: the collector no longer gets to it (its next due time is a day away).
    const [row] = await sql<{ last: string | null }[]>`update peakwatch.candle_streams set due_at = now() + interval '1 day' where id = ${stopped.id} returning last_closed_bucket as last`;
    stoppedLast = row!.last === null ? null : new Date(row!.last);
    stoppedAt = Date.now();
    log(`stopped stream ${stopped.symbol} ${stopped.timeframe} (newest bar ${stoppedLast?.toISOString()})`);
  }
  if (stoppedLast && redAfterMs === null) {
    const late = lateBars({ calendar: CME_GLOBEX, timeframe: "1m", lastClosedBucket: stoppedLast, firstBucket: stoppedLast }, new Date(), GRACE_MS, lookup);
    if (late !== null && late >= 2) {
      redAfterMs = Date.now() - stoppedAt;
      log(`stopped stream is failing (${late} late bars) ${Math.round(redAfterMs / 1000)} s after it was stopped, ${Math.round((Date.now() - stoppedLast.getTime() - 60_000) / 1000)} s after its newest bar closed`);
      const rows = await sql<{ id: number; timeframe: string; last: string | null; created: string }[]>`
        select s.id::int, s.timeframe, s.last_closed_bucket as last, s.created_at as created from peakwatch.candle_streams s
        join peakwatch.instruments i on i.id = s.instrument_id where i.provider = 'tradovate' and s.id <> ${stopped.id}`;
      othersRed = rows.filter((r) => (lateBars({ calendar: CME_GLOBEX, timeframe: timeframeSchema.parse(r.timeframe), lastClosedBucket: r.last === null ? null : new Date(r.last), firstBucket: new Date(r.created) }, new Date(), GRACE_MS, lookup) ?? 99) >= 2).length;
    }
  }
  if (Date.now() >= nextMinute) {
    track(a.run(45_000));
    // The second isolate's runs start 20 s later and overlap the first's.
    setTimeout(() => track(b.run(30_000)), 20_000);
    nextMinute += 60_000;
  }
  await sleep(1_000);
}
log("time is up: waiting for the last runs");
await Promise.all(runs);
sampling = false;
await sampleLoop;
await a.futures.provider()?.close();
await b.futures.provider()?.close();
holidays = await loadMarketHolidays(sql, CME_GLOBEX);
const cme = calendarFor(CME_GLOBEX, { holidays });

// Completeness: every bucket the calendar expects between a stream's oldest and newest stored closed bar.
let missing = 0;
let expectedTotal = 0;
const perStream: string[] = [];
for (const stream of streams) {
  const tf = timeframeSchema.parse(stream.timeframe);
  const [raw] = await sql<{ first: string | null; last: string | null }[]>`
    select min(c.bucket) as first, s.last_closed_bucket as last
    from peakwatch.candle_streams s join peakwatch.candles c on c.instrument_id = s.instrument_id and c.timeframe = s.timeframe
    where s.id = ${stream.id} group by s.last_closed_bucket`;
  const range = raw?.first && raw.last ? { first: new Date(raw.first), last: new Date(raw.last) } : null;
  if (!range?.first || !range.last) {
    perStream.push(`${stream.symbol} ${stream.timeframe}: no bars`);
    missing += 1;
    continue;
  }
  const expected = cme.expectedBuckets(tf, range.first, new Date(range.last.getTime() + timeframeMs(tf)));
  const stored = new Set((await sql<{ bucket: string }[]>`select c.bucket from peakwatch.candles c join peakwatch.candle_streams s
    on c.instrument_id = s.instrument_id and c.timeframe = s.timeframe where s.id = ${stream.id} and c.bucket <= ${range.last.toISOString()}`).map((r) => Date.parse(r.bucket)));
  const gone = expected.filter((bucket) => !stored.has(bucket.getTime())).length;
  missing += gone;
  expectedTotal += expected.length;
  if (gone > 0) perStream.push(`${stream.symbol} ${stream.timeframe}: ${gone} missing of ${expected.length}`);
}
const [dupes] = await sql<{ dupes: number }[]>`select (count(*) - count(distinct (instrument_id, timeframe, bucket)))::int as dupes from peakwatch.candles`;
const [synthetic] = await sql<{ n: number }[]>`select count(*)::int as n from peakwatch.candles where synthetic`;
const [runRows] = await sql<{ ok: number; partial: number; error: number }[]>`
  select count(*) filter (where outcome = 'ok')::int as ok, count(*) filter (where outcome = 'partial')::int as partial, count(*) filter (where outcome = 'error')::int as error
  from peakwatch.runs where function_name = 'candles'`.catch(() => [{ ok: -1, partial: -1, error: -1 }]);
const contracts = await sql<{ symbol: string; contract: string | null }[]>`select symbol, contract from peakwatch.instruments where provider = 'tradovate' order by symbol`;
const counters = await redis.hgetall(`${keyPrefix}${TRADOVATE_COUNTERS_KEY}`);
const mdStats = md.stats();
const authStats = auth.stats();

// A simulated halt and weekend: each stream holds every bar up to the session's end; the health
// reading (candles:lastBarAge) is evaluated every minute through the closed period.
const now = new Date();
let evaluations = 0;
let alarms = 0;
const closedPeriods: { label: string; from: Date; to: Date }[] = [];
for (const session of (cme as unknown as { sessions(from: Date, to: Date): { end: Date; tradeDate: string }[] }).sessions(now, new Date(now.getTime() + 9 * 86_400_000))) {
  const next = closedPeriods.length === 0 || session.end.getTime() > closedPeriods.at(-1)!.from.getTime();
  if (!next) continue;
  const reopen = cme.expectedBuckets("1m", session.end, new Date(session.end.getTime() + 4 * 86_400_000))[0]!;
  const weekend = reopen.getTime() - session.end.getTime() > 86_400_000;
  if (closedPeriods.some((p) => p.label === (weekend ? "weekend" : "halt"))) continue;
  closedPeriods.push({ label: weekend ? "weekend" : "halt", from: session.end, to: reopen });
  if (closedPeriods.length === 2) break;
}
for (const period of closedPeriods) {
  for (const stream of streams) {
    const tf = timeframeSchema.parse(stream.timeframe);
    const last = cme.lastClosedBucket(tf, period.from)!;
    // Until the first new bar has closed and its grace has passed, nothing is due.
    const quietUntil = period.to.getTime() + timeframeMs(tf) + GRACE_MS;
    for (let t = period.from.getTime(); t < quietUntil; t += 60_000) {
      evaluations += 1;
      if ((lateBars({ calendar: CME_GLOBEX, timeframe: tf, lastClosedBucket: last, firstBucket: last }, new Date(t), GRACE_MS, (name) => calendarFor(name, { holidays })) ?? 99) > 0) alarms += 1;
    }
  }
}

const lifetimes = (Date.now() - started) / 1000 / options.tokenSeconds;
console.log(`
=== drill:futures — ${options.minutes} min real time on the Tradovate stand-ins (SIMULATED upstream), tokens live ${options.tokenSeconds} s ===
streams                          ${streams.length} (NQ, MNQ, ES, MES × 1m, 5m, 15m, 30m, 1h), one candles run per minute per isolate, 2 isolates
candles runs                     ${JSON.stringify(runStatus)} HTTP; runs table ok ${runRows?.ok} · partial ${runRows?.partial} · error ${runRows?.error}
missing closed bars              ${missing} of ${expectedTotal} expected (calendar-aware, oldest → newest stored closed bar per stream)${perStream.length ? `\n                                 ${perStream.join("; ")}` : ""}
duplicate bars                   ${dupes!.dupes}   (synthetic no-trade bars stored: ${synthetic!.n})
sockets per account              peak ${mdStats.peakConnectionsPerUser}, evicted by the limit ${mdStats.evicted}; connections ${mdStats.connections}, authorized ${mdStats.authorized}
md token                         ${mdSamples} samples every 2 s, ${mdInvalid} not valid (+${revokedSamples} taken after the injected revocation, before the next socket was refused); ${lifetimes.toFixed(1)} token lifetimes; md tokens issued ${authStats.mdTokensIssued}, logins ${authStats.sessions}, renewals ${authStats.renewals}
  refused at authorize           ${mdStats.unauthorized} (injected: every md token expired once), provider counter unauthorized ${counters.unauthorized ?? 0}
  p-ticket                       ${authStats.penaltiesIssued} issued, ${authStats.ticketsHonoured} honoured
dropped sockets                  stand-in dropped ${mdStats.droppedByFault} mid-chart; counted drops ${counters.socketDrops ?? 0}, retries ${counters.retries ?? 0}, sessions ${counters.sessions ?? 0}
stopped stream                   ${stopped.symbol} 1m failing ${redAfterMs === null ? "never" : `${Math.round(redAfterMs / 1000)} s`} after it was stopped (bound: 2 bars + 1 minute = 180 s; health grace ${GRACE_MS / 1000} s); other streams failing then: ${othersRed}
simulated ${closedPeriods.map((p) => `${p.label} ${p.from.toISOString()}→${p.to.toISOString()}`).join(", ")}
                                 ${alarms} alarms in ${evaluations} per-minute evaluations of candles:lastBarAge
contracts (instruments.contract) ${contracts.map((c) => `${c.symbol}=${c.contract}`).join(" ")}
`);

await cleanUp();
const pass = missing === 0 && dupes!.dupes === 0 && mdStats.peakConnectionsPerUser <= 1 && mdInvalid === 0 && Number(counters.socketDrops ?? 0) >= 1 && redAfterMs !== null && redAfterMs <= 180_000 && alarms === 0;
console.log(pass ? "drill:futures: PASS" : "drill:futures: FAIL");
process.exit(pass ? 0 : 1);
