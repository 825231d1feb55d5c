import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { claimVerifications } from "../../supabase/functions/_shared/calltruth/sql/claim-verifications.ts";
import { completeVerifications, type VerificationVerdict } from "../../supabase/functions/_shared/calltruth/sql/complete-verifications.ts";
import { failVerifications } from "../../supabase/functions/_shared/calltruth/sql/fail-verifications.ts";
import { claim } from "../../supabase/functions/_shared/queue/claim.ts";
import type { Check } from "../../supabase/functions/_shared/tracker/record-checks.ts";
import { writeChecks } from "../../supabase/functions/_shared/tracker/write-checks.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { addSource, solanaMint } from "../helpers/poller.ts";

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

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const call = (n: number, overrides: Partial<IngestCall> = {}): IngestCall => ({
  external_id: `v${n}`, chain: "solana", address: solanaMint(n), ticker: "PEAK", group: "g",
  called_at: ago(60_000), entry_price_usd: null, entry_market_cap_usd: null, ...overrides,
});
const verdict = (callId: number, overrides: Partial<VerificationVerdict> = {}): VerificationVerdict => ({
  call_id: callId, verified_through: new Date().toISOString(), wick_usd: null, wick_at: null, wick_resolution: null,
  tradeable_usd: null, tradeable_at: null, tradeable_resolution: null, entry_usd: null, entry_observed_at: null,
  entry_approximate: null, reads: 1, next_due_at: new Date(Date.now() + 600_000).toISOString(), ...overrides,
});
const priced = (tokenId: number, price: number): Check =>
  ({ token_id: tokenId, outcome: "priced", price_usd: price, market_cap_usd: price * 1e9, liquidity_usd: 50_000,
     pair_address: "Pool1", dex_id: "raydium", symbol: "PEAK", name: "Peak", observed_at: new Date().toISOString() }) as Check;

async function sample(tokenId: number, price: number) {
  await db.sql`update peakwatch.queue set due_at = now() - interval '1 second', claimed_by = null where token_id = ${tokenId}`;
  await claim(db.sql, { worker: "w", limit: 10, leaseSeconds: 60 });
  await writeChecks(db.sql, "w", [priced(tokenId, price)], 3);
}
async function ingestOne(overrides: Partial<IngestCall> = {}) {
  await ingestCalls(db.sql, { sourceId: source, calls: [call(1, overrides)] } as never);
  return (await db.sql<{ id: number; token_id: number }[]>`select id, token_id from peakwatch.calls`)[0]!;
}
const callRow = async (id: number) =>
  (await db.sql<Record<string, unknown>[]>`
    select ath_price_usd::float8 as wick, ath_tradeable_price_usd::float8 as tradeable, ath_source, ath_verified_at,
           entry_price_usd::float8 as entry, entry_source, entry_approximate, ath_resolution, ath_tradeable_resolution
    from peakwatch.calls where id = ${id}`)[0]!;

describe("call verification", () => {
  it("every new call is queued for verification at once, young calls claimed apart from old ones", async () => {
    const young = await ingestOne();
    await ingestCalls(db.sql, { sourceId: source, calls: [call(2, { called_at: ago(3 * 86_400_000) })] } as never);
    const claimedYoung = await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    expect(claimedYoung.map((c) => c.call_id)).toEqual([young.id]);
    const claimedOld = await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: false });
    expect(claimedOld).toHaveLength(1);
    expect(await claimVerifications(db.sql, { owner: "v2", limit: 10, leaseSeconds: 60, young: true })).toHaveLength(0);
  });

  it("raises the wick high but may lower the tradeable high that samples raised", async () => {
    const k = await ingestOne();
    await sample(k.token_id, 2);
    expect(await callRow(k.id)).toMatchObject({ wick: 2, tradeable: 2, ath_source: "samples" });
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(k.id, {
      wick_usd: 3, wick_at: ago(30_000), wick_resolution: "1m", tradeable_usd: 1.5, tradeable_at: ago(30_000), tradeable_resolution: "1m",
    })]);
    expect(await callRow(k.id)).toMatchObject({ wick: 3, tradeable: 1.5, ath_source: "candles", ath_resolution: "1m", ath_tradeable_resolution: "1m" });
    // a later verification with a lower wick never lowers it
    await db.sql`update peakwatch.call_verifications set due_at = now() - interval '1 second'`;
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(k.id, { wick_usd: 2.5, wick_at: ago(1000), wick_resolution: "1m", tradeable_usd: 1.2, tradeable_at: ago(1000), tradeable_resolution: "1m" })]);
    expect(await callRow(k.id)).toMatchObject({ wick: 3, tradeable: 1.5 });
    // samples keep raising both between verifications
    await sample(k.token_id, 4);
    expect(await callRow(k.id)).toMatchObject({ wick: 4, tradeable: 4 });
  });

  it("a new sampled peak makes a young call's verification due now", async () => {
    const k = await ingestOne();
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(k.id, { next_due_at: new Date(Date.now() + 3_600_000).toISOString() })]);
    await sample(k.token_id, 5);
    expect(await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true })).toHaveLength(1);
  });

  it("a candle entry replaces a sampled one but never the caller's", async () => {
    const sampled = await ingestOne();
    await sample(sampled.token_id, 2);
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(sampled.id, { entry_usd: 1.1, entry_observed_at: ago(61_000), entry_approximate: false })]);
    expect(await callRow(sampled.id)).toMatchObject({ entry: 1.1, entry_source: "candles", entry_approximate: false });

    await db.sql`truncate peakwatch.tokens cascade`;
    const given = await ingestOne({ entry_price_usd: 0.7 });
    expect(await callRow(given.id)).toMatchObject({ entry: 0.7, entry_source: "caller" });
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(given.id, { entry_usd: 1.1, entry_observed_at: ago(61_000), entry_approximate: false })]);
    expect(await callRow(given.id)).toMatchObject({ entry: 0.7, entry_source: "caller" });
  });

  it("a verdict for a lease that was lost is dropped, and a failure is counted and retried", async () => {
    const k = await ingestOne();
    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    expect(await completeVerifications(db.sql, "someone-else", [verdict(k.id, { wick_usd: 9, wick_at: ago(1), wick_resolution: "1m" })])).toBe(0);
    expect(await failVerifications(db.sql, "v", [k.id], "rate_limited", new Date(Date.now() - 1000))).toBe(1);
    const [row] = await db.sql<{ attempts: number; last_error: string }[]>`select attempts, last_error from peakwatch.call_verifications`;
    expect(row).toEqual({ attempts: 1, last_error: "rate_limited" });
    expect(await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true })).toHaveLength(1);
  });

  it("records the pool a token moves to, with the time it moved", async () => {
    const k = await ingestOne();
    await sample(k.token_id, 1);
    await db.sql`update peakwatch.tokens set pair_address = 'Pool2' where id = ${k.token_id}`;
    const pools = await db.sql<{ pool_address: string; migrated: boolean }[]>`
      select pool_address, migrated_at is not null as migrated from peakwatch.token_pools order by first_seen_at, pool_address`;
    expect(pools).toEqual([{ pool_address: "Pool1", migrated: false }, { pool_address: "Pool2", migrated: true }]);
    const [claimed] = await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    expect(claimed!.pools).toEqual(["Pool1", "Pool2"]);
  });
});

describe("health: call truth", () => {
  it("grades a verifier that makes no progress; shows how late young calls are and the corrected share as information", async () => {
    const { evaluateHealth } = await import("../../supabase/functions/_shared/health/evaluate.ts");
    const { testHealthConfig } = await import("../helpers/health.ts");
    const k = await ingestOne();
    await sample(k.token_id, 1);
    await db.sql`update peakwatch.call_verifications set due_at = now() - interval '20 minutes'`;
    const report = await evaluateHealth({ sql: db.sql, config: testHealthConfig() });
    const lag = report.checks.find((c) => c.name === "calls:verificationLag");
    expect(lag).toMatchObject({ status: "warn" });
    expect(lag!.observedValue as number).toBeGreaterThanOrEqual(1200);
    expect(report.checks.find((c) => c.name === "calls:verificationStalled")).toMatchObject({ status: "warn" });
    const { affectsStatus } = await import("../../supabase/functions/_shared/health/thresholds.ts");
    expect(affectsStatus("calls:verificationLag")).toBe(false);
    expect(affectsStatus("calls:verificationStalled")).toBe(true);

    await claimVerifications(db.sql, { owner: "v", limit: 10, leaseSeconds: 60, young: true });
    await completeVerifications(db.sql, "v", [verdict(k.id, { wick_usd: 3, wick_at: ago(1000), wick_resolution: "1m", tradeable_usd: 2, tradeable_at: ago(1000), tradeable_resolution: "1m" })]);
    const after = await evaluateHealth({ sql: db.sql, config: testHealthConfig() });
    expect(after.checks.find((c) => c.name === "calls:verificationLag")).toMatchObject({ status: "pass", observedValue: 0 });
    expect(after.checks.find((c) => c.name === "calls:verificationStalled")).toMatchObject({ status: "pass", observedValue: 0 });
    expect(after.checks.find((c) => c.name === "calls:athCorrected")).toMatchObject({ status: "pass", observedValue: 100 });
  });
});
