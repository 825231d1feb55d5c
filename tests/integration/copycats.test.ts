import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IngestCall } from "../../supabase/functions/_shared/calls/call-input.ts";
import { ingestCalls } from "../../supabase/functions/_shared/calls/ingest.ts";
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
  await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.source_counters, peakwatch.copycat_tokens cascade`;
  await db.sql`delete from peakwatch.sources where kind <> 'manual'`;
  source = await addSource(db.sql, { name: "flood", kind: "http_feed", config: { url: "https://feed.example/calls" } });
});

const BASE = Date.now() - 6 * 3_600_000;
const at = (minute: number) => new Date(BASE + minute * 60_000).toISOString();
const call = (id: string, token: number, minute: number, ticker = "PEPE"): IngestCall => ({
  external_id: id, chain: "solana", address: solanaMint(token), ticker, group: null, called_at: at(minute), entry_price_usd: null, entry_market_cap_usd: null,
});

/** The pre-issue-14 query (quadratic), kept here as the definition the linear pass must match. */
async function referenceFlags(newIds: string[]) {
  return await db.sql<Flag[]>`
    with fresh as (
      select upper(k.ticker) as ticker, k.called_at from peakwatch.calls k
      where k.source_id = ${source} and k.external_id = any (${newIds}::text[]) and k.ticker is not null
    ), windows as (
      select distinct f.ticker, o.called_at as start_at from fresh f
      join peakwatch.calls o on upper(o.ticker) = f.ticker and o.called_at between f.called_at - interval '1 hour' and f.called_at
    ), members as (
      select w.ticker, w.start_at, m.token_id from windows w
      join peakwatch.calls m on upper(m.ticker) = w.ticker and m.called_at between w.start_at and w.start_at + interval '1 hour'
    ), crowded as (
      select m.ticker, m.start_at from members m group by m.ticker, m.start_at having count(distinct m.token_id) >= 3
    )
    select m.ticker, t.address, min(m.start_at) as window_start from members m
    join crowded c on c.ticker = m.ticker and c.start_at = m.start_at
    join peakwatch.tokens t on t.id = m.token_id
    group by m.ticker, t.address`;
}

// By address: token ids differ between the rolled-back reference run and the real one.
interface Flag {
  ticker: string;
  address: string;
  window_start: Date;
}
const key = (row: Flag) => `${row.ticker}|${row.address}|${new Date(row.window_start).toISOString()}`;

describe("copycat detection", () => {
  it("flags exactly what the old quadratic query flagged, batch after batch (property, seeded)", async () => {
    const batch = fc.array(fc.record({ token: fc.integer({ min: 1, max: 7 }), minute: fc.integer({ min: 0, max: 240 }), ticker: fc.constantFrom("PEPE", "pepe", "DOGE") }), { minLength: 1, maxLength: 12 });
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 4 }), async (batches) => {
        await db.sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.copycat_tokens cascade`;
        const expected = new Map<string, string>();
        for (const items of batches) {
          const calls = items.map((item) => call(`c${serial++}`, item.token, item.minute, item.ticker));
          // The reference needs the calls in place: it runs in a transaction that sees them, then rolls back.
          let reference: Flag[] = [];
          await db.sql.begin(async (tx) => {
            await tx`select peakwatch.ingest_calls(${source}::bigint, ${tx.json(calls as never)}, null, null, 0)`;
            const saved = db.sql;
            (db as { sql: unknown }).sql = tx;
            try {
              reference = [...(await referenceFlags(calls.map((c) => c.external_id)))];
            } finally {
              (db as { sql: unknown }).sql = saved;
            }
            throw new Error("rollback");
          }).catch((error: unknown) => {
            if (!(error instanceof Error && error.message === "rollback")) throw error;
          });
          await ingestCalls(db.sql, { sourceId: source, calls });
          for (const row of reference) {
            const id = `${row.ticker}|${row.address}`;
            if (!expected.has(id)) expected.set(id, key(row));
          }
          const actual = await db.sql<Flag[]>`
            select c.ticker, t.address, c.window_start from peakwatch.copycat_tokens c join peakwatch.tokens t on t.id = c.token_id`;
          expect(actual.map(key).sort()).toEqual([...expected.values()].sort());
        }
      }),
      { seed: 1414, numRuns: 40 },
    );
  });

  it("a flood of 5,000 calls of one ticker in the hour goes in and flags every token", async () => {
    let flagged = 0;
    for (let b = 0; b < 5; b++) {
      const calls = Array.from({ length: 1_000 }, (_, i) => call(`f${b}-${i}`, 10_000 + b * 1_000 + i, (b * 1_000 + i) / 200));
      flagged += (await ingestCalls(db.sql, { sourceId: source, calls })).copycats;
    }
    expect(flagged).toBe(5_000);
  });

  it("runs off the source row lock: calls of a source go in while another ingest holds its row for the cursor", async () => {
    const holder = db.connect(1);
    const other = db.connect(1);
    try {
      await holder.begin(async (tx) => {
        // What a concurrent ingest holds from its cursor update to its commit (the old ingest_calls
        // took FOR UPDATE at its start and so waited here for the other's whole transaction).
        await tx`select 1 from peakwatch.sources where id = ${source} for no key update`;
        await other`set statement_timeout = '5s'`;
        const result = await ingestCalls(other, { sourceId: source, calls: [call("a", 1, 0), call("b", 2, 1), call("c", 3, 2)] });
        expect(result).toMatchObject({ newCalls: 3, copycats: 3 });
      });
    } finally {
      await holder.end();
      await other.end();
    }
  });
});
