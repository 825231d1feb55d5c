/**
 * Copycat benchmark: a flood of calls of one ticker within the hour, ingested in batches of 1,000,
 * timed with the linear flag_copycats (issue 14) and with the quadratic query it replaced (run
 * here as a plain statement over the same rows). Prints per flood size; never a test.
 * Run with `npm run bench:copycats` (needs `npm run stack`).
 */
import { createScratchDatabase, dropScratchDatabase } from "../dev/lib/scratch-database.ts";
import { databaseUrl, readStackSettings } from "../dev/lib/settings.ts";
import { ingestCalls } from "../supabase/functions/_shared/calls/ingest.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db/client.ts";

const DB_NAME = "peakwatch_bench_copycats";
const SIZES = [250, 500, 1_000, 4_000, 8_000];
// The old query is given this long per size; past it the figure is "over the limit".
const OLD_QUERY_TIMEOUT = "60s";

const mint = (n: number) => `Mint${String(n).replace(/0/g, "z").padStart(36, "A")}`;

async function oldQuery(sql: Sql, sourceId: number, newIds: string[]): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    with fresh as (
      select upper(k.ticker) as ticker, k.called_at from peakwatch.calls k
      where k.source_id = ${sourceId} and k.external_id = any (${newIds}::text[]) and k.ticker is not null
    ), windows as (
      select distinct f.ticker, o.called_at as start_at from fresh f
      join peakwatch.calls o on upper(o.ticker) = f.ticker and o.called_at between f.called_at - interval '1 hour' and f.called_at
    ), members as (
      select w.ticker, w.start_at, m.token_id from windows w
      join peakwatch.calls m on upper(m.ticker) = w.ticker and m.called_at between w.start_at and w.start_at + interval '1 hour'
    ), crowded as (
      select m.ticker, m.start_at from members m group by m.ticker, m.start_at having count(distinct m.token_id) >= 3
    )
    select count(distinct m.token_id)::int as n from members m join crowded c on c.ticker = m.ticker and c.start_at = m.start_at`;
  return row!.n;
}

async function main(): Promise<void> {
  const { adminUrl } = readStackSettings();
  await createScratchDatabase(adminUrl, DB_NAME);
  const sql = createSql(databaseUrl(adminUrl, DB_NAME), { max: 2, applicationName: "peakwatch-bench" });
  try {
    console.log("calls of one ticker in the hour | ingest with flag_copycats (all batches) | last batch's copycat pass alone, old query");
    for (const size of SIZES) {
      await sql`truncate peakwatch.tokens, peakwatch.calls, peakwatch.copycat_tokens, peakwatch.sources cascade`;
      const [source] = await sql<{ id: number }[]>`insert into peakwatch.sources (name, kind) values ('flood', 'manual') returning id`;
      const start = Date.now() - 3_600_000;
      const started = performance.now();
      let lastIds: string[] = [];
      const batch = Math.min(size, 1_000);
      for (let b = 0; b < size / batch; b++) {
        const calls = Array.from({ length: batch }, (_, i) => {
          const n = b * batch + i;
          return { external_id: `c${n}`, chain: "solana", address: mint(n), ticker: "PEPE", group: null, called_at: new Date(start + (n * 3_000_000) / size).toISOString(), entry_price_usd: null, entry_market_cap_usd: null };
        });
        await ingestCalls(sql, { sourceId: source!.id, calls });
        lastIds = calls.map((c) => c.external_id);
      }
      const ingestMs = performance.now() - started;
      let old: string;
      const t = performance.now();
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(`set local statement_timeout = '${OLD_QUERY_TIMEOUT}'`);
          await oldQuery(tx as unknown as Sql, source!.id, lastIds);
        });
        old = `${(performance.now() - t).toFixed(0)} ms`;
      } catch (error) {
        if ((error as { code?: string }).code !== "57014") throw error;
        old = `over ${OLD_QUERY_TIMEOUT} (cancelled)`;
      }
      console.log(`${size} | ${ingestMs.toFixed(0)} ms | ${old}`);
    }
  } finally {
    await sql.end({ timeout: 1 });
    await dropScratchDatabase(adminUrl, DB_NAME);
  }
}

await main();
