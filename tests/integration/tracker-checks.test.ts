import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claim } from "../../supabase/functions/_shared/queue/claim.ts";
import { type Check, recordChecks } from "../../supabase/functions/_shared/tracker/record-checks.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  await db.sql`delete from peakwatch.sources where name <> 'manual'`;
});

const priced = (tokenId: number, price: number, observedAt: string, marketCap: number | null = price * 1e9): Check => ({
  token_id: tokenId,
  outcome: "priced",
  price_usd: price,
  market_cap_usd: marketCap,
  liquidity_usd: 50_000,
  pair_address: "PairAddr",
  dex_id: "raydium",
  symbol: "PEAK",
  name: "Peak",
  observed_at: observedAt,
});
const noPair = (tokenId: number): Check => ({ token_id: tokenId, outcome: "no_pair", reason: "not_in_response" });

async function checkAgain(tokenId: number, check: Check) {
  await db.sql`update peakwatch.queue set due_at = now() - interval '1 second' where token_id = ${tokenId}`;
  await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
  return await recordChecks(db.sql, "w", [check]);
}

async function addCall(tokenId: number, externalId: string, calledAt: string, entry: number | null = null) {
  const [source] = await db.sql<{ id: number }[]>`
    insert into peakwatch.sources (name, kind) values ('group-x', 'http_feed')
    on conflict (name) do update set kind = excluded.kind returning id`;
  await db.sql`
    insert into peakwatch.calls (source_id, external_id, token_id, ticker, called_at, entry_price_usd)
    values (${source!.id}, ${externalId}, ${tokenId}, 'PEAK', ${calledAt}, ${entry})`;
}

const token = async (id: number) =>
  (await db.sql<{ status: string; price_usd: number | null; missing_checks: number; first_priced_at: string | null }[]>`
    select status, price_usd, missing_checks, first_priced_at from peakwatch.tokens where id = ${id}`)[0]!;

describe("record_checks", () => {
  it("a first price makes the token active and fills entry values of calls that had none", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await addCall(id!, "no-entry", "2026-01-01T00:00:00Z");
    await addCall(id!, "with-entry", "2026-01-01T00:00:00Z", 0.5);
    await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
    expect(await recordChecks(db.sql, "w", [priced(id!, 2, new Date().toISOString())])).toEqual([{ token_id: id, status: "active" }]);
    expect(await token(id!)).toMatchObject({ status: "active", price_usd: 2, missing_checks: 0 });
    const calls = await db.sql`
      select external_id, entry_price_usd, entry_market_cap_usd, ath_price_usd, roi, ath_roi
      from peakwatch.call_performance order by external_id`;
    expect(calls).toEqual([
      { external_id: "no-entry", entry_price_usd: 2, entry_market_cap_usd: 2e9, ath_price_usd: 2, roi: 0, ath_roi: 0 },
      // the caller's entry price stays; a market cap seen at another price is not its entry
      { external_id: "with-entry", entry_price_usd: 0.5, entry_market_cap_usd: null, ath_price_usd: 2, roi: 3, ath_roi: 3 },
    ]);
  });

  it("ATH and current price stay right when results arrive out of order", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await addCall(id!, "c1", "2026-01-01T00:00:00Z", 1);
    const t = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, "0")}:00Z`;
    await checkAgain(id!, priced(id!, 3, t(10)));
    await checkAgain(id!, priced(id!, 9, t(5))); // older observation, higher price: a real ATH, not the current price
    await checkAgain(id!, priced(id!, 2, t(20)));
    await checkAgain(id!, priced(id!, 3, t(10))); // a retried result
    const [call] = await db.sql`select ath_price_usd, ath_market_cap_usd, ath_at, price_usd from peakwatch.call_performance`;
    expect(call).toMatchObject({ ath_price_usd: 9, ath_market_cap_usd: 9e9, price_usd: 2 });
    expect(new Date(call!.ath_at as string).toISOString()).toBe("2026-01-01T00:05:00.000Z");
  });

  it("prices seen before a call do not count toward that call's ATH", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await addCall(id!, "late-call", "2026-01-01T01:00:00Z", 1);
    await checkAgain(id!, priced(id!, 50, "2026-01-01T00:30:00Z"));
    const [call] = await db.sql`select ath_price_usd from peakwatch.calls`;
    expect(call!.ath_price_usd).toBeNull();
  });

  it("a token with no pair that never traded stays pending on the slow cadence", async () => {
    const [id] = await insertTokens(db.sql, 1);
    for (let i = 0; i < 7; i++) await checkAgain(id!, noPair(id!));
    expect(await token(id!)).toMatchObject({ status: "pending", missing_checks: 0, first_priced_at: null });
    const [queued] = await db.sql<{ priority: number; seconds: number }[]>`
      select priority, extract(epoch from due_at - now())::float8 as seconds from peakwatch.queue where token_id = ${id!}`;
    expect(queued!.priority).toBe(2);
    expect(queued!.seconds).toBeGreaterThan(100);
  });

  it("a token that traded turns dead only after consecutive misses, and revives when it trades again", async () => {
    const [id] = await insertTokens(db.sql, 1);
    const now = () => new Date().toISOString();
    await checkAgain(id!, priced(id!, 1, now()));
    for (let i = 0; i < 4; i++) await checkAgain(id!, noPair(id!));
    expect(await token(id!)).toMatchObject({ status: "active", missing_checks: 4 });
    await checkAgain(id!, priced(id!, 1.1, now())); // a price in between resets the count
    for (let i = 0; i < 4; i++) await checkAgain(id!, noPair(id!));
    expect((await token(id!)).status).toBe("active");
    await checkAgain(id!, noPair(id!));
    expect(await token(id!)).toMatchObject({ status: "dead", missing_checks: 5 });
    await checkAgain(id!, noPair(id!));
    expect((await token(id!)).status).toBe("dead");
    await checkAgain(id!, priced(id!, 0.2, now()));
    expect(await token(id!)).toMatchObject({ status: "active", missing_checks: 0, price_usd: 0.2 });
  });

  it("results from a worker whose lease was taken over are dropped", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await claim(db.sql, { worker: "new-holder", limit: 1, leaseSeconds: 60 });
    expect(await recordChecks(db.sql, "stale", [priced(id!, 5, new Date().toISOString())])).toEqual([]);
    expect(await token(id!)).toMatchObject({ status: "pending", price_usd: null });
  });

  it("a priced check without a positive price is refused and nothing is written", async () => {
    const [id] = await insertTokens(db.sql, 1);
    await claim(db.sql, { worker: "w", limit: 1, leaseSeconds: 60 });
    const zeroPrice = { ...priced(id!, 1, new Date().toISOString()), price_usd: 0 } as Check;
    await expect(recordChecks(db.sql, "w", [zeroPrice]))
      .rejects.toThrow(/outcome must be priced \(with price_usd > 0\), no_pair or unpriceable/);
    const [queued] = await db.sql`select claimed_by from peakwatch.queue where token_id = ${id!}`;
    expect(queued!.claimed_by).toBe("w");
  });
});
