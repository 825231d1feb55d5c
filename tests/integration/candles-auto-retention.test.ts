import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { upsertCandles } from "../../supabase/functions/_shared/candles/sql/upsert.ts";
import { toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens, peakwatch.instruments, peakwatch.candles restart identity cascade`;
  await db.sql`update peakwatch.candle_settings set default_timeframes = '{5m,1h,1d}', backfill_days = 30, auto_instruments = true, retention_months = 24`;
});

const streamsOf = (tokenId: number) =>
  db.sql<{ network: string; symbol: string; token_side: string; enabled: boolean; timeframe: string; days_back: number }[]>`
    select i.network, i.symbol, i.token_side, i.enabled, s.timeframe,
           floor(extract(epoch from now() - s.backfill_target) / 86400)::int as days_back
    from peakwatch.instruments i join peakwatch.candle_streams s on s.instrument_id = i.id
    where i.token_id = ${tokenId} order by i.id, s.timeframe`;

/** A call on the token, as the poller would store it: only called tokens get instruments. */
const call = async (tokenId: number) => {
  await db.sql`
    insert into peakwatch.calls (source_id, external_id, token_id, called_at)
    select id, ${`call-${tokenId}`}, ${tokenId}, now() from peakwatch.sources where name = 'manual'`;
};

describe("auto instruments", () => {
  it("a token with a pool but no call gets none; its first call brings the instrument", async () => {
    const [tokenId] = await insertTokens(db.sql, 1, "solana", "uncalled");
    await db.sql`update peakwatch.tokens set pair_address = 'pool-u', status = 'active' where id = ${tokenId!}`;
    expect(await streamsOf(tokenId!)).toEqual([]);
    await call(tokenId!);
    expect((await streamsOf(tokenId!)).map((s) => s.timeframe).sort()).toEqual(["1d", "1h", "5m"]);
  });

  it("a called token whose pool is chosen gets a GeckoTerminal instrument with the default timeframes, priced in its own address", async () => {
    const [tokenId] = await insertTokens(db.sql, 1, "ethereum", "0xabc");
    await call(tokenId!);
    expect(await streamsOf(tokenId!)).toEqual([]);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-1', status = 'active' where id = ${tokenId!}`;
    const streams = await streamsOf(tokenId!);
    expect(streams.map((s) => s.timeframe).sort()).toEqual(["1d", "1h", "5m"]);
    expect(streams[0]).toMatchObject({ network: "eth", symbol: "pool-1", token_side: "0xabc-1", enabled: true, days_back: 30 });
  });

  it("re-pricing with the same pool adds nothing; a new pool gets its instrument and the old one is disabled, not deleted", async () => {
    const [tokenId] = await insertTokens(db.sql, 1);
    await call(tokenId!);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-1' where id = ${tokenId!}`;
    await db.sql`update peakwatch.tokens set pair_address = 'pool-1', price_usd = 2 where id = ${tokenId!}`;
    expect(await streamsOf(tokenId!)).toHaveLength(3);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-2' where id = ${tokenId!}`;
    const streams = await streamsOf(tokenId!);
    expect(streams.map((s) => `${s.symbol}:${s.enabled}`)).toEqual([...Array(3).fill("pool-1:false"), ...Array(3).fill("pool-2:true")]);
  });

  it("a pool that cannot be an instrument (empty, blank) gets none, and the tracker's write still succeeds", async () => {
    const [tokenId] = await insertTokens(db.sql, 1, "solana", "emptypool");
    await call(tokenId!);
    await db.sql`update peakwatch.tokens set pair_address = '', status = 'active' where id = ${tokenId!}`;
    await db.sql`update peakwatch.tokens set pair_address = '   ' where id = ${tokenId!}`;
    expect(await streamsOf(tokenId!)).toEqual([]);
    await db.sql`update peakwatch.tokens set pair_address = ' pool-trim ' where id = ${tokenId!}`;
    expect((await streamsOf(tokenId!)).map((s) => s.symbol)).toEqual(["pool-trim", "pool-trim", "pool-trim"]);
  });

  it("makes nothing when auto instruments are off or the chain has no GeckoTerminal network", async () => {
    const [unknownChain] = await insertTokens(db.sql, 1, "somechain");
    await call(unknownChain!);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-x' where id = ${unknownChain!}`;
    expect(await streamsOf(unknownChain!)).toEqual([]);
    await db.sql`update peakwatch.candle_settings set auto_instruments = false`;
    const [off] = await insertTokens(db.sql, 1, "solana", "off");
    await call(off!);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-y' where id = ${off!}`;
    expect(await streamsOf(off!)).toEqual([]);
  });

  it("default timeframes are limited to what GeckoTerminal serves, and a GeckoTerminal stream cannot be 30m", async () => {
    await expect(db.sql`update peakwatch.candle_settings set default_timeframes = '{30m}'`).rejects.toMatchObject({ code: "23514" });
    const [instrument] = await db.sql<{ id: number }[]>`
      insert into peakwatch.instruments (provider, network, symbol) values ('geckoterminal', 'solana', 'pool-z') returning id`;
    await expect(db.sql`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrument!.id}, '30m')`)
      .rejects.toMatchObject({ code: "22023", message: "candle_streams: geckoterminal does not serve 30m bars" });
  });

  it("gecko_network agrees with the TypeScript map for every chain it knows", async () => {
    const chains = ["ethereum", "bsc", "polygon", "avalanche", "arbitrum", "optimism", "base", "solana", "fantom", "cronos", "zksync", "linea", "blast", "scroll", "mantle", "celo", "pulsechain", "sui", "ton", "tron", "nochain"];
    const rows = await db.sql<{ chain: string; network: string | null }[]>`
      select c as chain, peakwatch.gecko_network(c) as network from unnest(${chains}::text[]) c`;
    expect(rows).toEqual(chains.map((chain) => ({ chain, network: toGeckoNetwork(chain) })));
  });
});

describe("candle retention", () => {
  it("housekeeping drops whole partitions past retention, keeps recent ones and makes the next months", async () => {
    const [instrument] = await db.sql<{ id: number }[]>`
      insert into peakwatch.instruments (provider, network, symbol) values ('geckoterminal', 'solana', 'pool-r') returning id`;
    const [stream] = await db.sql<{ id: number }[]>`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrument!.id}, '1d') returning id`;
    const day = (d: Date) => ({ bucket: d, open: 1, high: 1, low: 1, close: 1, volume: 1, synthetic: false });
    const now = new Date();
    const old = new Date(Date.UTC(now.getUTCFullYear() - 3, now.getUTCMonth(), 1));
    const recent = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    await upsertCandles(db.sql, stream!.id, [day(old), day(recent)], "test");
    const [{ result }] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result` as unknown as [{ result: Record<string, number> }];
    expect(result.candle_partitions_dropped).toBeGreaterThanOrEqual(1);
    expect(result.candle_partitions_skipped).toBe(0);
    const rows = await db.sql<{ bucket: string }[]>`select bucket from peakwatch.candles order by bucket`;
    expect(rows.map((r) => new Date(r.bucket).getTime())).toEqual([recent.getTime()]);
    const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
    const name = `candles_${ahead.getUTCFullYear()}m${String(ahead.getUTCMonth() + 1).padStart(2, "0")}`;
    const [exists] = await db.sql<{ present: boolean }[]>`select to_regclass(${`peakwatch.${name}`}) is not null as present`;
    expect(exists!.present).toBe(true);
    const [again] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result`;
    expect(again!.result).toMatchObject({ candle_partitions_dropped: 0, candle_partitions_created: 0 });
  });
});

describe("dead tokens", () => {
  it("a token that turns dead stops its pool's candles; one that comes back starts them again", async () => {
    const [tokenId] = await insertTokens(db.sql, 1, "solana", "dying");
    await call(tokenId!);
    await db.sql`update peakwatch.tokens set pair_address = 'pool-d', status = 'active' where id = ${tokenId!}`;
    const enabled = async () => (await db.sql<{ enabled: boolean }[]>`select enabled from peakwatch.instruments where token_id = ${tokenId!}`).map((r) => r.enabled);
    expect(await enabled()).toEqual([true]);
    await db.sql`update peakwatch.tokens set status = 'dead' where id = ${tokenId!}`;
    expect(await enabled()).toEqual([false]);
    await db.sql`update peakwatch.tokens set status = 'active' where id = ${tokenId!}`;
    expect(await enabled()).toEqual([true]);
  });
});

describe("candle retention under load", () => {
  it("a drop that cannot get its lock while a read holds candles is skipped, counted, and done on the next run", async () => {
    const [instrument] = await db.sql<{ id: number }[]>`
      insert into peakwatch.instruments (provider, network, symbol) values ('geckoterminal', 'solana', 'pool-lock') returning id`;
    const [stream] = await db.sql<{ id: number }[]>`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrument!.id}, '1d') returning id`;
    await upsertCandles(db.sql, stream!.id, [{ bucket: new Date(Date.UTC(2015, 0, 1)), open: 1, high: 1, low: 1, close: 1, volume: 1, synthetic: false }], "test");
    const reader = db.connect(1);
    try {
      await reader.begin(async (tx) => {
        await tx`select count(*) from peakwatch.candles`;
        const [blocked] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result`;
        expect(blocked!.result).toMatchObject({ candle_partitions_dropped: 0, candle_partitions_skipped: 1 });
      });
    } finally {
      await reader.end();
    }
    const [after] = await db.sql<{ result: Record<string, number> }[]>`select peakwatch.housekeeping() as result`;
    expect(after!.result).toMatchObject({ candle_partitions_dropped: 1, candle_partitions_skipped: 0 });
    const [gone] = await db.sql<{ present: boolean }[]>`select to_regclass('peakwatch.candles_2015m01') is not null as present`;
    expect(gone!.present).toBe(false);
  });
});
