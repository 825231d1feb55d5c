import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TradovateMdStandIn } from "../../dev/tradovate-md/server.ts";
import type { BarPage } from "../../supabase/functions/_shared/candles/provider.ts";
import { timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { TRADOVATE_COUNTERS_KEY } from "../../supabase/functions/_shared/providers/tradovate-md/provider.ts";
import { captureLogs, credentialsFixture, expectNoSecrets, type CredentialsFixture } from "../helpers/credentials.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { cme, closedWindow, mdStandIn, provider } from "../helpers/tradovate-md.ts";

let db: TestDatabase;
let fx: CredentialsFixture | undefined;
let md: TradovateMdStandIn | undefined;
const logs = captureLogs();
const allSecrets = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  if (fx) for (const secret of fx.secrets()) allSecrets.add(secret);
  await md?.close();
  await fx?.close();
  fx = undefined;
  md = undefined;
});
afterAll(async () => {
  logs.restore();
  await db.drop();
  expectNoSecrets(logs.lines(), [...allSecrets], "the log lines of tradovate-md tests");
});

const signal = () => AbortSignal.timeout(60_000);
const okBars = (page: BarPage | undefined) => {
  if (!page?.ok) throw new Error(`expected bars, got ${JSON.stringify(page)}`);
  return page.bars;
};

describe("Tradovate market data against the stand-ins", () => {
  it("several streams share one authorized session: bars oldest first, volume = up + down, charts cancelled, one socket", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const bars = provider(fx, md);
    const requests = [closedWindow("NQ", "5m", 12, 1), closedWindow("MNQ", "5m", 12, 2), closedWindow("ES", "15m", 8, 3), closedWindow("MES", "1h", 4, 4)];
    const pages = await bars.fetchBars(requests, signal());
    for (const [index, page] of pages.entries()) {
      const got = okBars(page);
      const request = requests[index]!;
      expect(got.map((bar) => bar.bucket.toISOString())).toEqual(cme.expectedBuckets(request.timeframe, request.from!, request.to).map((b) => b.toISOString()));
      for (const bar of got) {
        expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
        expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
        expect(bar.volume).toBeGreaterThan(0);
        expect(bar.synthetic).toBe(false);
      }
    }
    // Micro and full-size contracts of one index follow the same walk.
    expect(okBars(pages[0]).map((bar) => bar.close)).toEqual(okBars(pages[1]).map((bar) => bar.close));
    expect(bars.stats()).toMatchObject({ sessions: 1, charts: 4, socketDrops: 0, retries: 0, unauthorized: 0 });
    expect(md.stats()).toMatchObject({ connections: 1, authorized: 1, charts: 4, peakConnectionsPerUser: 1, evicted: 0, cancels: { realtime: 4 } });
    expect(md.stats().requests).toMatchObject({ authorize: 1, "md/getChart": 4, "md/cancelChart": 8 });
    // The roll is visible: each product's front month, when it rolls, and the next one.
    const contracts = bars.contracts();
    expect(contracts.map((c) => c.product).sort()).toEqual(["ES", "MES", "MNQ", "NQ"]);
    for (const contract of contracts) {
      expect(contract.source).toBe("rule");
      expect(contract.contract).toMatch(new RegExp(`^${contract.product}[HMUZ]\\d$`));
      expect(contract.rollAt!.getTime()).toBeGreaterThan(Date.now());
    }
    expect(await fx.redis.hgetall(`${fx.keyPrefix}tradovate:contracts`)).toHaveProperty("NQ");
  });

  it("stream-by-stream fetches, as the collector makes them, share one session until it has been idle a moment", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const bars = provider(fx, md, { sessionIdleMs: 5_000 });
    for (const [index, symbol] of ["NQ", "MNQ", "ES", "MES"].entries()) okBars((await bars.fetchBars([closedWindow(symbol, "15m", 4, index)], signal()))[0]);
    expect(bars.stats()).toMatchObject({ sessions: 1, charts: 4 });
    expect(md.stats()).toMatchObject({ connections: 1, authorized: 1 });
    // The lock is held while the session is open: another isolate waits (here: gives up at once).
    const other = provider(fx, md, { lockWaitMs: 0 });
    expect((await other.fetchBars([closedWindow("NQ", "15m", 4)], signal()))[0]).toMatchObject({ ok: false, kind: "budget" });
    await bars.close();
    okBars((await other.fetchBars([closedWindow("NQ", "15m", 4)], signal()))[0]);
    expect(md.stats().peakConnectionsPerUser).toBe(1);
  });

  it("fetching the same window again gives the same bars (the walk is a function of the clock, not of the request)", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const request = closedWindow("NQ", "1m", 30);
    const first = okBars((await provider(fx, md).fetchBars([request], signal()))[0]);
    const second = okBars((await provider(fx, md).fetchBars([request], signal()))[0]);
    expect(second).toEqual(first);
  });

  it("a socket dropped mid-chart is retried in a new session and counted; every stream still gets all its bars once", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6, packetBars: 5 });
    const clean = provider(fx, md);
    const requests = [closedWindow("NQ", "5m", 24, 1), closedWindow("ES", "5m", 24, 2)];
    const expected = await clean.fetchBars(requests, signal());
    md.setFault("drop_mid_chart", { count: 1 });
    const bars = provider(fx, md);
    const pages = await bars.fetchBars(requests, signal());
    expect(pages).toEqual(expected);
    for (const page of pages) {
      const buckets = okBars(page).map((bar) => bar.bucket.getTime());
      expect(new Set(buckets).size).toBe(buckets.length);
    }
    expect(bars.stats()).toMatchObject({ sessions: 2, socketDrops: 1, retries: 1 });
    expect(md.stats().droppedByFault).toBe(1);
    expect(await fx.redis.hget(`${fx.keyPrefix}${TRADOVATE_COUNTERS_KEY}`, "socketDrops")).toBe("1");
    expect(logs.events().some((event) => event.event === "tradovate.session_failed" && event.kind === "dropped")).toBe(true);
  });

  it("drops beyond the retry budget fail the unfinished streams as socket_dropped, keeping the finished ones", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6, packetBars: 5 });
    const bars = provider(fx, md, { maxSessionRetries: 1 });
    const requests = [closedWindow("NQ", "5m", 12, 1), closedWindow("ES", "5m", 12, 2)];
    // The first chart succeeds, then every chart of the second stream is cut.
    const first = await bars.fetchBars([requests[0]!], signal());
    md.setFault("drop_mid_chart", { count: 2 });
    const pages = await bars.fetchBars([requests[1]!], signal());
    expect(first[0]!.ok).toBe(true);
    expect(pages[0]).toMatchObject({ ok: false, kind: "socket_dropped" });
    expect(bars.stats()).toMatchObject({ socketDrops: 2, retries: 1 });
  });

  it("an expired md token is refused by authorize, refreshed once (single flight) and the session reopened", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const bars = provider(fx, md, { storeOptions: { forcedRefreshMinIntervalMs: 0 } });
    okBars((await bars.fetchBars([closedWindow("NQ", "15m", 4)], signal()))[0]);
    fx.tradovate.expireMdTokens();
    okBars((await bars.fetchBars([closedWindow("NQ", "15m", 4)], signal()))[0]);
    expect(bars.stats()).toMatchObject({ unauthorized: 1, sessions: 3 });
    expect(md.stats()).toMatchObject({ unauthorized: 1, authorized: 2 });
    expect(fx.tradovate.stats().mdTokensIssued).toBe(2);
  });

  it("the md token stays valid across token lifetimes: refreshed ahead under the single-flight lock, never refused", async () => {
    fx = await credentialsFixture(db.sql, { tradovate: { tokenLifetimeSeconds: 4 } });
    md = await mdStandIn(fx, { historyDays: 6 });
    const isolates = [provider(fx, md), provider(fx, md)];
    const started = Date.now();
    let fetches = 0;
    // Three and a bit lifetimes, two isolates taking turns.
    while (Date.now() - started < 13_000) {
      const bars = isolates[fetches % 2]!;
      okBars((await bars.fetchBars([closedWindow(fetches % 2 ? "ES" : "NQ", "5m", 3)], signal()))[0]);
      fetches += 1;
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(md.stats().unauthorized).toBe(0);
    expect(md.stats().authorized).toBe(fetches);
    expect(isolates.map((bars) => bars.stats().unauthorized)).toEqual([0, 0]);
    // A new session (and md token) per lifetime, not per fetch.
    const issued = fx.tradovate.stats().mdTokensIssued;
    expect(issued).toBeGreaterThanOrEqual(3);
    expect(issued).toBeLessThan(fetches);
  });

  it("a p-ticket on login is waited out, then market data flows", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    fx.tradovate.setFault("penalty", { count: 1, pTimeSeconds: 1 });
    okBars((await provider(fx, md).fetchBars([closedWindow("ES", "30m", 4)], signal()))[0]);
    expect(fx.tradovate.stats()).toMatchObject({ penaltiesIssued: 1, ticketsHonoured: 1, sessions: 1 });
  });

  it("a slow end of history is waited for; one slower than the bound is retried in a new session", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    md.setFault("slow_eoh", { count: 1, delayMs: 1_500 });
    const patient = provider(fx, md, { eohTimeoutMs: 10_000 });
    okBars((await patient.fetchBars([closedWindow("NQ", "5m", 6)], signal()))[0]);
    expect(patient.stats()).toMatchObject({ sessions: 1, retries: 0 });
    md.setFault("slow_eoh", { count: 1, delayMs: 4_000 });
    const hasty = provider(fx, md, { eohTimeoutMs: 1_000 });
    okBars((await hasty.fetchBars([closedWindow("NQ", "5m", 6)], signal()))[0]);
    expect(hasty.stats()).toMatchObject({ sessions: 2, socketDrops: 1, retries: 1 });
  });

  it("one socket per account: eight isolates fetching at once take turns on the Redis lock; the stand-in never sees two", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const isolates = Array.from({ length: 8 }, () => provider(fx!, md!));
    const symbols = ["NQ", "MNQ", "ES", "MES"];
    const pages = await Promise.all(isolates.map((bars, index) => bars.fetchBars([closedWindow(symbols[index % 4]!, "5m", 6, index)], signal())));
    for (const page of pages) okBars(page[0]);
    expect(md.stats()).toMatchObject({ connections: 8, authorized: 8, peakConnectionsPerUser: 1, evicted: 0 });
    // One login for all eight: the md token is single-flight like the access token.
    expect(fx.tradovate.stats().sessions).toBe(1);
  });

  it("without the lock, Tradovate's limit bites: a second connection evicts the first and revokes its token", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6, packetBars: 1 });
    md.setFault("slow_eoh", { count: 1, delayMs: 2_000 });
    const a = provider(fx, md, { keyPrefix: `${fx.keyPrefix}a:`, maxSessionRetries: 0 });
    const b = provider(fx, md, { keyPrefix: `${fx.keyPrefix}b:` });
    const slow = a.fetchBars([closedWindow("NQ", "5m", 6)], signal());
    await new Promise((resolve) => setTimeout(resolve, 500));
    // b uses another lock key (a misconfigured second deployment); its token comes from the same cache.
    await b.fetchBars([closedWindow("ES", "5m", 6)], signal()).catch(() => []);
    const [page] = await slow;
    expect(page).toMatchObject({ ok: false });
    expect(md.stats().evicted).toBeGreaterThanOrEqual(1);
  });

  it("interior buckets without trades are filled as synthetic bars at the previous close; the window edges are not", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6, emptyMinuteRate: 0.3 });
    const request = closedWindow("MES", "1m", 60);
    const got = okBars((await provider(fx, md).fetchBars([request], signal()))[0]);
    const synthetic = got.filter((bar) => bar.synthetic);
    expect(synthetic.length).toBeGreaterThan(0);
    for (const bar of synthetic) {
      const before = got[got.indexOf(bar) - 1]!;
      expect(bar).toMatchObject({ open: before.close, high: before.close, low: before.close, close: before.close, volume: 0 });
    }
    expect(got[0]!.synthetic).toBe(false);
    expect(got.at(-1)!.synthetic).toBe(false);
    const size = timeframeMs("1m");
    for (let i = 1; i < got.length; i++) {
      const gap = cme.expectedBuckets("1m", new Date(got[i - 1]!.bucket.getTime() + size), got[i]!.bucket);
      expect(gap).toEqual([]);
    }
  });

  it("4h and daily bars are not offered: they follow CME's trade date, not peakwatch's UTC buckets", async () => {
    fx = await credentialsFixture(db.sql);
    md = await mdStandIn(fx, { historyDays: 6 });
    const bars = provider(fx, md);
    expect(bars.supports("4h")).toBe(false);
    expect(bars.supports("1d")).toBe(false);
    const [page] = await bars.fetchBars([{ ...closedWindow("NQ", "1h", 2), timeframe: "4h" }], signal());
    expect(page).toMatchObject({ ok: false, kind: "unsupported_timeframe", coverage: "not_on_provider" });
    expect(md.stats().connections).toBe(0);
  });
});
