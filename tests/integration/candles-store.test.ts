import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Bar } from "../../supabase/functions/_shared/candles/provider.ts";
import { candleBuckets } from "../../supabase/functions/_shared/candles/sql/buckets.ts";
import { claimCandleStreams } from "../../supabase/functions/_shared/candles/sql/claim.ts";
import { completeCandleStream } from "../../supabase/functions/_shared/candles/sql/complete.ts";
import { failCandleStream } from "../../supabase/functions/_shared/candles/sql/fail.ts";
import { ensureCandlePartitions } from "../../supabase/functions/_shared/candles/sql/partitions.ts";
import { readCandles } from "../../supabase/functions/_shared/candles/sql/read.ts";
import { upsertCandles } from "../../supabase/functions/_shared/candles/sql/upsert.ts";
import { bucketStart, type Timeframe, timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.instruments, peakwatch.candles restart identity cascade`;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function addStream(timeframe: Timeframe = "5m", provider = "geckoterminal", symbol = "pool-1"): Promise<{ instrumentId: number; streamId: number }> {
  const [instrument] = await db.sql<{ id: number }[]>`
    insert into peakwatch.instruments (provider, network, symbol, token_side)
    values (${provider}, ${provider === "geckoterminal" ? "solana" : null}, ${symbol}, ${provider === "geckoterminal" ? "base" : null})
    returning id`;
  const [stream] = await db.sql<{ id: number }[]>`
    insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrument!.id}, ${timeframe}) returning id`;
  return { instrumentId: instrument!.id, streamId: stream!.id };
}

/** `count` closed bars ending `endsAgo` bars before the current bucket, oldest first. */
function closedBars(timeframe: Timeframe, count: number, endsAgo = 2): Bar[] {
  const size = timeframeMs(timeframe);
  const last = bucketStart(timeframe, new Date()).getTime() - endsAgo * size;
  return Array.from({ length: count }, (_, i) => {
    const open = 1 + i / 100;
    return { bucket: new Date(last - (count - 1 - i) * size), open, high: open + 0.02, low: open - 0.01, close: open + 0.01, volume: 1000 + i, synthetic: false };
  });
}

describe("upsert_candles", () => {
  it("refetching a window changes 0 rows", async () => {
    const { streamId, instrumentId } = await addStream();
    const bars = closedBars("5m", 300);
    expect(await upsertCandles(db.sql, streamId, bars, "geckoterminal")).toEqual({ inserted: 300, revised: 0, unchanged: 0, filled: 0, updated: 0 });
    const [before] = await db.sql<{ xmins: string }[]>`select string_agg(xmin::text, ',' order by bucket) as xmins from peakwatch.candles where instrument_id = ${instrumentId}`;
    expect(await upsertCandles(db.sql, streamId, bars, "geckoterminal")).toEqual({ inserted: 0, revised: 0, unchanged: 300, filled: 0, updated: 0 });
    // no row version was written: every row keeps the transaction id that inserted it
    const [after] = await db.sql<{ xmins: string }[]>`select string_agg(xmin::text, ',' order by bucket) as xmins from peakwatch.candles where instrument_id = ${instrumentId}`;
    expect(after!.xmins).toBe(before!.xmins);
    const [stream] = await db.sql`select bars_written, revisions, written_in_hour from peakwatch.candle_streams where id = ${streamId}`;
    expect(stream).toEqual({ bars_written: 300, revisions: 0, written_in_hour: 300 });
  });

  it("a changed closed bar counts as a revision", async () => {
    const { streamId, instrumentId } = await addStream();
    const bars = closedBars("5m", 10);
    await upsertCandles(db.sql, streamId, bars, "geckoterminal");
    const changed = bars.map((bar, i) => (i === 4 ? { ...bar, close: bar.close * 1.1 } : bar));
    expect(await upsertCandles(db.sql, streamId, changed, "geckoterminal")).toEqual({ inserted: 0, revised: 1, unchanged: 9, filled: 0, updated: 0 });
    const [row] = await db.sql<{ close: number }[]>`select close from peakwatch.candles where instrument_id = ${instrumentId} and bucket = ${bars[4]!.bucket.toISOString()}`;
    expect(row!.close).toBeCloseTo(bars[4]!.close * 1.1, 10);
    const [stream] = await db.sql`select bars_written, revisions from peakwatch.candle_streams where id = ${streamId}`;
    expect(stream).toEqual({ bars_written: 11, revisions: 1 });
  });

  it("the still-forming bar changing is an update, not a revision", async () => {
    const { streamId } = await addStream("1h");
    const forming: Bar = { bucket: bucketStart("1h", new Date()), open: 1, high: 1, low: 1, close: 1, volume: 5, synthetic: false };
    expect((await upsertCandles(db.sql, streamId, [forming], "geckoterminal")).inserted).toBe(1);
    expect(await upsertCandles(db.sql, streamId, [{ ...forming, high: 2, close: 2, volume: 9 }], "geckoterminal")).toEqual({ inserted: 0, revised: 0, unchanged: 0, filled: 0, updated: 1 });
  });

  it("a real bar replacing a synthetic one counts as filled", async () => {
    const { streamId } = await addStream();
    const [bar] = closedBars("5m", 1);
    await upsertCandles(db.sql, streamId, [{ ...bar!, open: 1, high: 1, low: 1, close: 1, volume: 0, synthetic: true }], "geckoterminal");
    expect(await upsertCandles(db.sql, streamId, [bar!], "geckoterminal")).toEqual({ inserted: 0, revised: 0, unchanged: 0, filled: 1, updated: 0 });
  });

  it("makes the monthly partitions it needs, with RLS on and no grants", async () => {
    const { streamId, instrumentId } = await addStream("1d");
    const old = new Date(Date.UTC(2019, 2, 10));
    await upsertCandles(db.sql, streamId, [{ bucket: old, open: 1, high: 1, low: 1, close: 1, volume: 1, synthetic: false }], "geckoterminal");
    const [partition] = await db.sql`
      select c.relrowsecurity as rls, c.relacl is null or not exists (
        select 1 from aclexplode(c.relacl) a where a.grantee in (0, (select oid from pg_roles where rolname = 'anon'), (select oid from pg_roles where rolname = 'service_role'))
      ) as no_api_grants
      from pg_class c where c.oid = 'peakwatch.candles_2019m03'::regclass`;
    expect(partition).toEqual({ rls: true, no_api_grants: true });
    // attached (not created in place): the parent's key and BRIN index are on it
    const indexes = await db.sql<{ def: string }[]>`select indexdef as def from pg_indexes where schemaname = 'peakwatch' and tablename = 'candles_2019m03' order by 1`;
    expect(indexes.map((i) => i.def.replace(/ [a-z0-9_]+ ON /, " ? ON "))).toEqual([
      "CREATE INDEX ? ON peakwatch.candles_2019m03 USING brin (bucket)",
      "CREATE UNIQUE INDEX ? ON peakwatch.candles_2019m03 USING btree (instrument_id, timeframe, bucket)",
    ]);
    expect(await ensureCandlePartitions(db.sql, old, old)).toBe(0);
    expect(await ensureCandlePartitions(db.sql, new Date(Date.UTC(2019, 0, 31)), new Date(Date.UTC(2019, 4, 1)))).toBe(4); // Jan, Feb, Apr, May
    expect(await readCandles(db.sql, instrumentId, "1d", old, new Date(old.getTime() + 86_400_000))).toHaveLength(1);
  });

  it("a new month is made while a long read holds the table (attached, no exclusive lock on candles)", async () => {
    const reader = db.connect(1);
    const writer = db.connect(1);
    try {
      await reader.begin(async (tx) => {
        await tx`select count(*) from peakwatch.candles`;
        // the reader still holds its lock on candles: an ACCESS EXCLUSIVE request would time out here
        const made = await writer.begin(async (wtx) => {
          await wtx`set local lock_timeout = '2s'`;
          return await ensureCandlePartitions(wtx as unknown as typeof writer, new Date(Date.UTC(2018, 5, 1)), new Date(Date.UTC(2018, 5, 1)));
        });
        expect(made).toBe(1);
      });
    } finally {
      await reader.end();
      await writer.end();
    }
  });

  it("refuses misaligned buckets, duplicates and mismatched arrays with SQLSTATE 22023", async () => {
    const { streamId } = await addStream();
    const [bar] = closedBars("5m", 1);
    const misaligned = upsertCandles(db.sql, streamId, [{ ...bar!, bucket: new Date(bar!.bucket.getTime() + 60_000) }], "x");
    await expect(misaligned).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("aligned to 5m") });
    await expect(upsertCandles(db.sql, streamId, [bar!, bar!], "x")).rejects.toMatchObject({ code: "22023", message: expect.stringContaining("twice") });
    const mismatched = db.sql`select * from peakwatch.upsert_candles(${streamId}::bigint, array[now()]::timestamptz[], '{1,2}', '{1}', '{1}', '{1}', '{1}', '{f}', 'x')`;
    await expect(mismatched).rejects.toMatchObject({ code: "22023" });
  });
});

describe("candle streams", () => {
  it("a row whose lease expired is claimed again", async () => {
    const { streamId } = await addStream();
    const first = await claimCandleStreams(db.sql, { provider: "geckoterminal", limit: 10, leaseSeconds: 1, owner: "crashes" });
    expect(first.map((s) => s.streamId)).toEqual([streamId]);
    expect(await claimCandleStreams(db.sql, { provider: "geckoterminal", limit: 10, leaseSeconds: 60, owner: "other" })).toEqual([]);
    await sleep(1_200);
    const second = await claimCandleStreams(db.sql, { provider: "geckoterminal", limit: 10, leaseSeconds: 60, owner: "other" });
    expect(second).toMatchObject([{ streamId, provider: "geckoterminal", network: "solana", symbol: "pool-1", tokenSide: "base", timeframe: "5m", lastClosedBucket: null }]);
    // the crashed collector coming back late cannot complete a stream it no longer holds
    const late = { lastClosedBucket: new Date(), backfillCursor: null, backfillDone: false, coverageReason: null, nextDueAt: new Date(), owner: "crashes" };
    expect(await completeCandleStream(db.sql, streamId, late)).toBe(false);
    expect(await completeCandleStream(db.sql, streamId, { ...late, owner: "other" })).toBe(true);
  });

  it("concurrent claimers never get the same stream, and a claim takes one provider only", async () => {
    for (let i = 0; i < 40; i++) await addStream("5m", "geckoterminal", `pool-${i}`);
    await addStream("5m", "tradovate", "NQ");
    const claimers = Array.from({ length: 4 }, (_, i) => ({ owner: `c${i}`, sql: db.connect(1) }));
    const got = await Promise.all(claimers.map(async ({ owner, sql }) => {
      const mine: number[] = [];
      for (;;) {
        const batch = await claimCandleStreams(sql, { provider: "geckoterminal", limit: 3, leaseSeconds: 60, owner });
        if (batch.length === 0) return mine;
        mine.push(...batch.map((s) => s.streamId));
      }
    }));
    const all = got.flat();
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
  });

  it("complete moves the cursor forward only and backfill backwards only; fail counts attempts", async () => {
    const { streamId } = await addStream();
    const t = (iso: string) => new Date(iso);
    const due = new Date(Date.now() - 1000);
    await completeCandleStream(db.sql, streamId, { lastClosedBucket: t("2026-12-01T10:00:00Z"), backfillCursor: t("2026-11-01T00:00:00Z"), backfillDone: false, coverageReason: null, nextDueAt: due });
    await completeCandleStream(db.sql, streamId, { lastClosedBucket: t("2026-12-01T09:00:00Z"), backfillCursor: t("2026-11-05T00:00:00Z"), backfillDone: true, coverageReason: "younger_than_depth", nextDueAt: due });
    expect(await failCandleStream(db.sql, streamId, "upstream answered 503", due)).toBe(1);
    expect(await failCandleStream(db.sql, streamId, "upstream answered 503", due)).toBe(2);
    const [row] = await db.sql`
      select last_closed_bucket, backfill_cursor, backfill_done_at is not null as done, coverage_reason, attempts, last_error, lease_owner
      from peakwatch.candle_streams where id = ${streamId}`;
    expect(row).toMatchObject({ coverage_reason: "younger_than_depth", done: true, attempts: 2, last_error: "upstream answered 503", lease_owner: null });
    expect(new Date(row!.last_closed_bucket as string).toISOString()).toBe("2026-12-01T10:00:00.000Z");
    expect(new Date(row!.backfill_cursor as string).toISOString()).toBe("2026-11-01T00:00:00.000Z");
  });

  it("candle_buckets lists the stored buckets of a range, so a missing one is visible", async () => {
    const { streamId } = await addStream();
    const bars = closedBars("5m", 6);
    await upsertCandles(db.sql, streamId, bars.filter((_, i) => i !== 3), "geckoterminal");
    const stored = await candleBuckets(db.sql, streamId, bars[0]!.bucket, new Date(bars[5]!.bucket.getTime() + 1));
    expect(stored.map((b) => b.getTime())).toEqual(bars.filter((_, i) => i !== 3).map((b) => b.bucket.getTime()));
  });
});

describe("candle_bucket", () => {
  it("agrees with bucketStart for every timeframe", async () => {
    const instants = ["2026-12-06T23:47:12.500Z", "2026-12-06T00:00:00.000Z", "2026-02-28T23:59:59.999Z", "2024-02-29T12:34:56.789Z"];
    const timeframes = ["1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d"] as const;
    for (const timeframe of timeframes) {
      const rows = await db.sql<{ bucket: string }[]>`
        select peakwatch.candle_bucket(${timeframe}, at) as bucket from unnest(${instants}::timestamptz[]) with ordinality u(at, n) order by n`;
      expect(rows.map((row) => new Date(row.bucket).getTime()), timeframe).toEqual(instants.map((at) => bucketStart(timeframe, new Date(at)).getTime()));
    }
  });
});
