import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
import type { Bar, BarPage, BarRequest, CandleProvider } from "../../supabase/functions/_shared/candles/provider.ts";
import { timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { DEFAULT_VERIFY, verifyCalls, type VerifyDeps } from "../../supabase/functions/_shared/calltruth/verify.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, solanaMint } from "../helpers/poller.ts";

const MINUTE = 60_000;
let db: TestDatabase;
let source: number;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  await db.sql`delete from peakwatch.sources where name <> 'manual'`;
  source = await addSource(db.sql, { name: "feed-v", kind: "http_feed", config: { url: "http://127.0.0.1:1/feed" } });
});

/** A pool's minute history as a function of time, aggregated into any bar size like GeckoTerminal. */
type History = (minuteStart: number) => { open: number; high: number; close: number } | null;

function fakeProvider(pools: Record<string, History>): CandleProvider & { requests: BarRequest[] } {
  const requests: BarRequest[] = [];
  return {
    name: "geckoterminal",
    requests,
    supports: () => true,
    async fetchBars(batch: BarRequest[]): Promise<BarPage[]> {
      return batch.map((request) => {
        requests.push(request);
        const history = pools[request.symbol];
        if (!history) return { ok: false, kind: "not_found", message: "pool not found", coverage: "not_on_provider" };
        const size = timeframeMs(request.timeframe);
        const bars: Bar[] = [];
        const start = request.from ? Math.floor(request.from.getTime() / size) * size : request.to.getTime() - request.limit * size;
        for (let bucket = start; bucket < request.to.getTime(); bucket += size) {
          const minutes = [];
          for (let m = bucket; m < bucket + size; m += MINUTE) {
            const bar = history(m);
            if (bar) minutes.push(bar);
          }
          if (minutes.length === 0) continue;
          bars.push({
            bucket: new Date(bucket), open: minutes[0]!.open, close: minutes[minutes.length - 1]!.close,
            high: Math.max(...minutes.map((x) => x.high)), low: 0, volume: minutes.length, synthetic: false,
          });
        }
        return { ok: true, bars: bars.slice(-request.limit), reachedStart: false, coverage: null };
      });
    },
  };
}

const flat = (price: number): History => () => ({ open: price, high: price, close: price });
const callAt = (calledAt: Date, overrides: Partial<IngestCall> = {}): IngestCall => ({
  external_id: `v${calledAt.getTime()}`, chain: "solana", address: solanaMint(1), ticker: "PEAK", group: "g",
  called_at: calledAt.toISOString(), entry_price_usd: null, entry_market_cap_usd: null, ...overrides,
});

async function setup(calledAt: Date, pools: string[]) {
  await ingestCalls(db.sql, { sourceId: source, calls: [callAt(calledAt)] } as never);
  const [call] = await db.sql<{ id: number; token_id: number }[]>`select id, token_id from peakwatch.calls`;
  for (const [i, pool] of pools.entries()) {
    await db.sql`insert into peakwatch.token_pools (token_id, pool_address, first_seen_at, migrated_at)
                 values (${call!.token_id}, ${pool}, now() - make_interval(secs => ${100 - i}), ${i > 0 ? new Date().toISOString() : null}::timestamptz)`;
  }
  return call!;
}

function deps(provider: CandleProvider): VerifyDeps {
  return { sql: db.sql, providers: { young: provider, backlog: provider }, now: () => new Date(), signal: new AbortController().signal };
}
/** A provider whose budget share never has a slot, as the GeckoTerminal provider answers then. */
const noBudget: CandleProvider = {
  name: "geckoterminal", supports: () => true,
  fetchBars: async (batch) => batch.map(() => ({ ok: false, kind: "budget", message: "no budget slot in time", coverage: null })),
};
const options = () => ({ ...DEFAULT_VERIFY, owner: "verifier", deadline: Date.now() + 60_000 });
const callRow = async (id: number) =>
  (await db.sql<{ wick: number; tradeable: number; ath_source: string; entry: number | null; entry_source: string | null; ath_resolution: string }[]>`
    select ath_price_usd::float8 as wick, ath_tradeable_price_usd::float8 as tradeable, ath_source,
           entry_price_usd::float8 as entry, entry_source, ath_resolution
    from peakwatch.calls where id = ${id}`)[0]!;

describe("verifyCalls", () => {
  it("finds a one-minute 3x wick that no spot sample saw, and the tradeable high beside it", async () => {
    const now = Date.now();
    const calledAt = new Date(Math.floor(now / MINUTE) * MINUTE - 90 * MINUTE + 20_000);
    const wickMinute = Math.floor(now / MINUTE) * MINUTE - 30 * MINUTE;
    const history: History = (m) => (m === wickMinute ? { open: 1, high: 3, close: 1.1 } : { open: 1, high: 1, close: 1 });
    const call = await setup(calledAt, ["PoolA"]);
    const counts = await verifyCalls(deps(fakeProvider({ PoolA: history })), options());
    expect(counts).toMatchObject({ verified: 1, failed: 0 });
    expect(await callRow(call.id)).toMatchObject({ wick: 3, tradeable: 1.1, ath_source: "candles", ath_resolution: "1m", entry: 1, entry_source: "candles" });
  });

  it("reads every pool the token traded in: a peak in the old bonding-curve pool counts", async () => {
    const calledAt = new Date(Date.now() - 3 * 3_600_000);
    const call = await setup(calledAt, ["Curve", "Amm"]);
    const peakMinute = Math.floor(calledAt.getTime() / MINUTE) * MINUTE + 20 * MINUTE;
    const curve: History = (m) => (m < peakMinute + 60 * MINUTE ? { open: 2, high: m === peakMinute ? 9 : 2, close: m === peakMinute ? 8 : 2 } : null);
    await verifyCalls(deps(fakeProvider({ Curve: curve, Amm: flat(4) })), options());
    expect(await callRow(call.id)).toMatchObject({ wick: 9, tradeable: 8 });
  });

  it("a second verification reads only the minutes after the first", async () => {
    const calledAt = new Date(Date.now() - 2 * 3_600_000);
    const call = await setup(calledAt, ["PoolA"]);
    const provider = fakeProvider({ PoolA: flat(1) });
    await verifyCalls(deps(provider), options());
    const [state] = await db.sql<{ through: string }[]>`select verified_through as through from peakwatch.call_verifications where call_id = ${call.id}`;
    provider.requests.length = 0;
    await db.sql`update peakwatch.call_verifications set due_at = now() - interval '1 second'`;
    await verifyCalls(deps(provider), options());
    const fine = provider.requests.filter((r) => r.timeframe === "1m" || r.timeframe === "5m");
    expect(fine.length).toBeGreaterThan(0);
    expect(fine.every((r) => r.from !== null && r.from.getTime() >= new Date(state!.through).getTime())).toBe(true);
  });

  it("a spent budget defers calls without counting a failure, and the next run verifies them", async () => {
    const call = await setup(new Date(Date.now() - 3_600_000), ["PoolA"]);
    const counts = await verifyCalls(deps(noBudget), options());
    expect(counts).toMatchObject({ verified: 0, failed: 0, deferred: 1 });
    expect((await callRow(call.id)).ath_source).toBe("samples");
    const [state] = await db.sql<{ attempts: number; due: boolean }[]>`select attempts, due_at <= now() as due from peakwatch.call_verifications`;
    expect(state).toEqual({ attempts: 0, due: true });
    const again = await verifyCalls(deps(fakeProvider({ PoolA: flat(1) })), options());
    expect(again.verified).toBe(1);
  });

  it("an upstream failure is counted by kind and retried later", async () => {
    await setup(new Date(Date.now() - 3_600_000), ["PoolA"]);
    const broken: CandleProvider = {
      name: "geckoterminal", supports: () => true,
      fetchBars: async (batch) => batch.map(() => ({ ok: false, kind: "upstream_5xx", message: "502", coverage: null })),
    };
    const counts = await verifyCalls(deps(broken), options());
    expect(counts).toMatchObject({ failed: 1, errors: { upstream_5xx: 1 } });
    const [row] = await db.sql<{ attempts: number; due_later: boolean }[]>`
      select attempts, due_at > now() as due_later from peakwatch.call_verifications`;
    expect(row).toEqual({ attempts: 1, due_later: true });
  });
});

describe("call_outcomes", () => {
  it("gives the best multiple per horizon, time to ATH and the drawdown before it from stored candles", async () => {
    const { upsertCandles } = await import("../../supabase/functions/_shared/candles/sql/upsert.ts");
    const calledAt = new Date(Math.floor(Date.now() / 300_000) * 300_000 - 10 * 3_600_000);
    await ingestCalls(db.sql, { sourceId: source, calls: [callAt(calledAt, { entry_price_usd: 1 })] } as never);
    const [call] = await db.sql<{ id: number; token_id: number }[]>`select id, token_id from peakwatch.calls`;
    await db.sql`insert into peakwatch.token_pools (token_id, pool_address) values (${call!.token_id}, 'PoolO')`;
    const [instrument] = await db.sql<{ id: number }[]>`
      insert into peakwatch.instruments (provider, network, symbol, token_side, token_id)
      values ('geckoterminal', 'solana', 'PoolO', 'base', ${call!.token_id}) returning id`;
    const [stream] = await db.sql<{ id: number }[]>`
      insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrument!.id}, '5m') returning id`;
    const bar = (minutesAfter: number, open: number, high: number, low: number, close: number): Bar => ({
      bucket: new Date(calledAt.getTime() + minutesAfter * MINUTE), open, high, low, close, volume: 1, synthetic: false,
    });
    await upsertCandles(db.sql, stream!.id, [
      bar(-5, 50, 50, 50, 50), // before the call: never an outcome
      bar(0, 1, 1.2, 0.9, 1.1),
      bar(30, 1.1, 1.5, 0.6, 1.4),
      bar(120, 1.4, 4, 1.3, 3),
      bar(480, 3, 3.2, 2, 2.5),
    ], "test");
    const [outcome] = await db.sql<Record<string, unknown>[]>`
      select resolution, max_multiple_1h::float8 as m1, max_multiple_6h::float8 as m6, max_multiple_24h::float8 as m24,
             max_wick_multiple_7d::float8 as w7, extract(epoch from time_to_ath)::int as tta, max_drawdown_before_ath::float8 as dd
      from peakwatch.call_outcomes where call_id = ${call!.id}`;
    expect(outcome).toEqual({ resolution: "5m", m1: 1.4, m6: 3, m24: 3, w7: 4, tta: 120 * 60, dd: 0.6 - 1 });
  });
});
