/**
 * `npm run drill:call-truth` — issue 17's acceptance against the market simulator (SIMULATED data),
 * in real time: the simulator's clock is the wall clock, with --history-hours of walk behind it.
 *
 * 1. accuracy: --calls calls (default 1,000) on --tokens tokens, called 10 min to 48 h ago (so
 *    every one is posted late), verified by the real verifier through the real GeckoTerminal OHLCV
 *    client and budget at --rate calls/min (the simulator allows the same; the public API is 30).
 *    Each tradeable ATH is compared with the maximum max(open, close) of every 1-minute bar since
 *    the call, read apart; each candle entry with the close of the last minute ended by called_at.
 * 2. outage: a 3-minute 2.5× spike inside 30 minutes with no spot samples is recovered.
 * 3. wick (real time, public budget 30/min): a 3× one-trade wick on a young call; the verifier runs
 *    every minute as the cron does, beside a tracker fallback spending the budget at full speed;
 *    prints the minutes until the wick ATH shows and the simulator's 429 count.
 *
 *   npm run drill:call-truth -- [--calls 1000] [--tokens 200] [--rate 600] [--wick-minutes 15] [--skip-wick]
 */
import "../../bench/local-dev.ts";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_VERIFY, verifyCalls, type VerifyCounts } from "../../supabase/functions/_shared/calltruth/verify.ts";
import { verificationLanes } from "../../supabase/functions/_shared/candles/deps.ts";
import { createSql, type Sql } from "../../supabase/functions/_shared/db/client.ts";
import { geckoBudget, GECKO_SHARES } from "../../supabase/functions/_shared/limits/budget.ts";
import { providerLimits } from "../../supabase/functions/_shared/limits/gcra.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { createScratchDatabase, dropScratchDatabase } from "../lib/scratch-database.ts";
import { readStackSettings } from "../lib/settings.ts";
import { type MarketSimulator, startMarketSimulator } from "../market-sim/server.ts";
import { mulberry32 } from "../market-sim/prng.ts";
import type { SimToken } from "../market-sim/universe.ts";
import { entryTruth, minuteTruth, seedCalls, sleep, tradeableTruth, verifiableTokens } from "./call-truth-lib.ts";

const { values: args } = parseArgs({
  options: {
    calls: { type: "string", default: "1000" },
    tokens: { type: "string", default: "200" },
    rate: { type: "string", default: "600" },
    "history-hours": { type: "string", default: "72" },
    "wick-minutes": { type: "string", default: "16" },
    "skip-wick": { type: "boolean", default: false },
    only: { type: "string" },
    seed: { type: "string", default: "17" },
  },
});
const options = z.object({
  calls: z.coerce.number().int().min(1).max(20_000),
  tokens: z.coerce.number().int().min(1).max(5_000),
  rate: z.coerce.number().int().min(30).max(100_000),
  historyHours: z.coerce.number().min(49).max(24 * 30),
  wickMinutes: z.coerce.number().min(6).max(60),
  skipWick: z.boolean(),
  only: z.enum(["accuracy", "outage", "wick"]).optional(),
  seed: z.coerce.number().int(),
}).parse({ ...args, historyHours: args["history-hours"], wickMinutes: args["wick-minutes"], skipWick: args["skip-wick"] });

const MINUTE = 60_000;
/** GeckoTerminal's public 30/min less the limiter's burst of one: the default GECKOTERMINAL_CALLS_PER_MINUTE. */
const PUBLIC_BUDGET = 29;
const HOUR = 60 * MINUTE;
const log = (message: string) => console.log(`[call-truth ${new Date().toISOString().slice(11, 19)}] ${message}`);
const pct = (n: number, d: number) => (d === 0 ? "n/a" : `${((100 * n) / d).toFixed(2)} %`);
const { adminUrl, redisUrl } = readStackSettings();
const redis = createRedis(redisUrl);
const cleanups: Array<() => Promise<unknown>> = [];

/**
 * A simulator whose clock is the wall clock (or stopped at `frozenAt`, so a forming bar read by the
 * verifier and by the truth is the same bar), with `history` ms of random walk already behind it.
 */
async function simulator(limit: number, perChain: number, frozenAt?: number): Promise<MarketSimulator> {
  const history = options.historyHours * HOUR;
  const clock = frozenAt === undefined ? () => Date.now() - history : () => frozenAt - history;
  const sim = await startMarketSimulator({ seed: options.seed, now: clock, tokens: { perChain }, limits: { geckoterminal: limit } });
  sim.advance(history);
  cleanups.push(() => sim.close());
  return sim;
}

async function scratch(label: string): Promise<Sql> {
  const name = `pw_drill_${label}_${randomBytes(3).toString("hex")}`;
  const url = await createScratchDatabase(adminUrl, name);
  const sql = createSql(url, { max: 4, applicationName: `peakwatch-drill-${label}` });
  cleanups.push(async () => {
    await sql.end({ timeout: 1 });
    await dropScratchDatabase(adminUrl, name);
  });
  return sql;
}

function lanes(sim: MarketSimulator, perMinute: number, prefix: string) {
  return verificationLanes(redis, { baseUrl: sim.geckoterminalUrl, keyPrefix: prefix, perMinute });
}

async function verifyUntilDone(sql: Sql, sim: MarketSimulator, perMinute: number, prefix: string, now = () => new Date()): Promise<{ counts: VerifyCounts; ms: number }> {
  const started = Date.now();
  const total: VerifyCounts = { verified: 0, failed: 0, deferred: 0, providerReads: 0, storeReads: 0, errors: {} };
  const providers = lanes(sim, perMinute, prefix);
  for (;;) {
    const counts = await verifyCalls(
      { sql, providers, now, signal: new AbortController().signal },
      { ...DEFAULT_VERIFY, owner: "drill", deadline: Date.now() + 50_000 },
    );
    for (const key of ["verified", "failed", "deferred", "providerReads", "storeReads"] as const) total[key] += counts[key];
    for (const [kind, n] of Object.entries(counts.errors)) total.errors[kind] = (total.errors[kind] ?? 0) + n;
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from peakwatch.call_verifications where verified_at is null`;
    if (left!.n === 0) break;
    if (counts.verified === 0 && counts.deferred === 0 && counts.failed === 0) await sleep(1_000);
  }
  return { counts: total, ms: Date.now() - started };
}

function budgetLine(reads: number, perMinute: number, ms: number): string {
  const share = GECKO_SHARES.verification.share;
  return `${reads} GeckoTerminal requests in ${(ms / 60_000).toFixed(1)} min (budget ${perMinute}/min here; ` +
    `at the public 30/min the verification share alone is ${(30 * share).toFixed(0)}/min, idle shares lent on top: ` +
    `${(reads / (30 * share) / 60).toFixed(1)} h for this backlog at the share, ${(reads / 30 / 60).toFixed(1)} h with the whole budget)`;
}

async function accuracy() {
  log(`accuracy: ${options.calls} calls on up to ${options.tokens} tokens, budget ${options.rate}/min`);
  const perChain = Math.ceil((options.tokens * 1.6) / 4);
  const now = Date.now();
  const sim = await simulator(1_000_000, perChain, now);
  const sql = await scratch("acc");
  const tokens = verifiableTokens(sim.tokens()).slice(0, options.tokens);
  const rng = mulberry32(options.seed);
  // A third posted up to 2 h late, the rest up to 48 h late: every call is ingested now.
  const calls = Array.from({ length: options.calls }, (_, i) => ({
    token: tokens[i % tokens.length]!,
    calledAt: now - 10 * MINUTE - Math.floor(rng() * (i % 3 === 0 ? 110 * MINUTE : 48 * HOUR)),
    externalId: `acc-${i}`,
  }));
  await seedCalls(sql, calls);
  const [seeded] = await sql<{ calls: number; tokens: number }[]>`select count(*)::int as calls, count(distinct token_id)::int as tokens from peakwatch.calls`;
  log(`seeded ${seeded!.calls} calls on ${seeded!.tokens} tokens`);
  const run = await verifyUntilDone(sql, sim, options.rate, `drill-acc-${randomBytes(3).toString("hex")}:`, () => new Date(now));
  log(`verified ${run.counts.verified} (failed ${run.counts.failed}, deferred ${run.counts.deferred}, errors ${JSON.stringify(run.counts.errors)}) in ${(run.ms / 1000).toFixed(0)} s`);

  const rows = await sql<{ address: string; chain: string; pair: string; called_at: string; tradeable: number | null; wick: number | null; entry: number | null; entry_source: string | null; verified_at: string }[]>`
    select t.address, t.chain, t.pair_address as pair, k.called_at, k.ath_tradeable_price_usd::float8 as tradeable,
           k.ath_price_usd::float8 as wick, k.entry_price_usd::float8 as entry, k.entry_source, v.verified_at
    from peakwatch.calls k join peakwatch.tokens t on t.id = k.token_id join peakwatch.call_verifications v on v.call_id = k.id`;
  const truthByToken = new Map<string, Awaited<ReturnType<typeof minuteTruth>>>();
  let within = 0, compared = 0, entryWithin = 0, entryCompared = 0, lateWithin = 0, lateCompared = 0;
  const misses: string[] = [];
  for (const row of rows) {
    const network = toGeckoNetwork(row.chain)!;
    let bars = truthByToken.get(row.address);
    if (!bars) {
      bars = await minuteTruth(sim.geckoterminalUrl, network, row.pair, row.address, now - 49 * HOUR, now + MINUTE);
      truthByToken.set(row.address, bars);
    }
    const calledAt = new Date(row.called_at).getTime();
    const start = Math.ceil(calledAt / MINUTE) * MINUTE;
    // The simulator's clock stands still at `now`: the verifier and the truth read the same bars.
    const truth = tradeableTruth(bars, start, now + MINUTE);
    if (truth && row.tradeable) {
      compared += 1;
      const off = Math.abs(row.tradeable / truth.tradeable - 1);
      if (off <= 0.01) within += 1;
      else if (misses.length < 5) misses.push(`${row.address.slice(0, 10)} called ${row.called_at}: ${row.tradeable} vs truth ${truth.tradeable}`);
    }
    const entry = entryTruth(bars, calledAt);
    if (entry && row.entry) {
      entryCompared += 1;
      const ok = Math.abs(row.entry / entry - 1) <= 0.005;
      if (ok) entryWithin += 1;
      if (now - calledAt <= 2 * HOUR) {
        lateCompared += 1;
        if (ok) lateWithin += 1;
      }
    }
  }
  log(`tradeable ATH within 1 % of the truth: ${within} of ${compared} (${pct(within, compared)}); bar ≥ 99 %`);
  for (const miss of misses) log(`  off: ${miss}`);
  log(`entry at called_at within 0.5 %: ${entryWithin} of ${entryCompared} (${pct(entryWithin, entryCompared)}); posted up to 2 h late: ${lateWithin} of ${lateCompared} (${pct(lateWithin, lateCompared)})`);
  log(`budget: ${budgetLine(run.counts.providerReads, options.rate, run.ms)}`);
  return { ok: compared > 0 && within / compared >= 0.99 && lateCompared > 0 && lateWithin / lateCompared >= 0.99, within, compared, entryWithin, entryCompared, lateWithin, lateCompared, run };
}

async function outage() {
  log("outage: a 3-minute spike, 1.5x the best sampled price, inside 30 minutes without spot samples");
  const sim = await simulator(1_000_000, 20);
  const sql = await scratch("out");
  const token = verifiableTokens(sim.tokens()).find((t) => t.kind === "steady")!;
  const network = toGeckoNetwork(token.chain)!;
  const now = Date.now();
  const calledAt = now - 90 * MINUTE;
  const spikeAt = Math.floor((now - 45 * MINUTE) / MINUTE) * MINUTE;
  const read = () => minuteTruth(sim.geckoterminalUrl, network, token.pairs[0]!.pairAddress, token.address, calledAt - HOUR, now + MINUTE);
  // Spot samples every minute from the call, except during the tracker's outage 60 to 30 minutes ago.
  const sampledMax = (bars: Awaited<ReturnType<typeof read>>) =>
    bars.filter((b) => b.bucket >= calledAt && !(b.bucket >= now - 60 * MINUTE && b.bucket < now - 30 * MINUTE)).reduce((m, b) => Math.max(m, b.close), 0);
  const plain = await read();
  const sampled = sampledMax(plain);
  const atSpike = plain.find((b) => b.bucket === spikeAt)!.open;
  const factor = (1.5 * sampled) / atSpike;
  const elapsedAt = (t: number) => sim.elapsedMs() - (Date.now() - t);
  await fetch(`${sim.url}/__sim/events`, { method: "POST", body: JSON.stringify({ address: token.address, kind: "spike", atMs: elapsedAt(spikeAt + 10_000), durationMs: 3 * MINUTE, factor }) });
  const bars = await read();
  await seedCalls(sql, [{ token, calledAt, externalId: "outage-1" }]);
  await sql`update peakwatch.calls set ath_price_usd = ${sampled}, ath_at = now() - interval '31 minutes' where external_id = 'outage-1'`;
  const run = await verifyUntilDone(sql, sim, PUBLIC_BUDGET, `drill-out-${randomBytes(3).toString("hex")}:`);
  const [row] = await sql<{ wick: number; tradeable: number }[]>`select ath_price_usd::float8 as wick, ath_tradeable_price_usd::float8 as tradeable from peakwatch.calls where external_id = 'outage-1'`;
  const inSpike = tradeableTruth(bars, spikeAt, spikeAt + 5 * MINUTE)!;
  const recovered = Math.abs(row!.tradeable / inSpike.tradeable - 1) <= 0.01 && inSpike.tradeable > sampled;
  log(`sampled ATH ${sampled.toPrecision(6)} (spike factor ${factor.toFixed(2)}); spike truth ${inSpike.tradeable.toPrecision(6)}; ` +
    `verified tradeable ${row!.tradeable.toPrecision(6)}, wick ${row!.wick.toPrecision(6)}: ${recovered ? "recovered" : "NOT recovered"} with ${run.counts.providerReads} requests`);
  return { ok: recovered, sampled, truth: inSpike.tradeable, verified: row!.tradeable, reads: run.counts.providerReads };
}

async function wick() {
  log(`wick: a 3x one-trade wick on a young call, verifier every minute beside a tracker fallback at full speed (budget ${PUBLIC_BUDGET}/min, simulator limit 30/min), up to ${options.wickMinutes} min`);
  const sim = await simulator(30, 20);
  const sql = await scratch("wick");
  const token = verifiableTokens(sim.tokens()).find((t) => t.kind === "steady")!;
  const prefix = `drill-wick-${randomBytes(3).toString("hex")}:`;
  await seedCalls(sql, [{ token, calledAt: Date.now() - 20 * MINUTE, externalId: "wick-1" }]);
  const providers = lanes(sim, PUBLIC_BUDGET, prefix);
  const verifyOnce = () => verifyCalls({ sql, providers, now: () => new Date(), signal: new AbortController().signal }, { ...DEFAULT_VERIFY, owner: "drill", deadline: Date.now() + 40_000 });
  log(`first verification: ${JSON.stringify(await verifyOnce())}`);
  const [before] = await sql<{ wick: number }[]>`select ath_price_usd::float8 as wick from peakwatch.calls where external_id = 'wick-1'`;
  const statsBefore = await simStats(sim);

  // The tracker's fallback at full speed: as many GeckoTerminal requests as its budget gate allows.
  const budget = geckoBudget(redis, providerLimits(`${prefix}limits:`, PUBLIC_BUDGET).geckoterminal);
  const fallbackGate = budget.gate("fallback");
  let fallbackRequests = 0;
  let stop = false;
  const network = toGeckoNetwork(token.chain)!;
  const tracker = (async () => {
    while (!stop) {
      if (!(await fallbackGate.acquire(undefined, 5_000))) continue;
      fallbackRequests += 1;
      await fetch(`${sim.geckoterminalUrl}/networks/${network}/tokens/multi/${token.address}`).then((r) => r.arrayBuffer()).catch(() => {});
    }
  })();

  const elapsed = sim.elapsedMs();
  await fetch(`${sim.url}/__sim/events`, { method: "POST", body: JSON.stringify({ address: token.address, kind: "wick", atMs: elapsed, factor: 3 }) });
  const injectedAt = Date.now();
  const wickMinute = Math.floor(injectedAt / MINUTE) * MINUTE;
  let expected: number | null = null;
  let shownAfter: number | null = null;
  let verifierReads = 0;
  const verifierCounts: Record<string, number> = {};
  while (Date.now() - injectedAt < options.wickMinutes * MINUTE) {
    const counts = await verifyOnce();
    log(`  verifier: ${JSON.stringify(counts)}; fallback requests so far ${fallbackRequests}`);
    verifierReads += counts.providerReads;
    for (const key of ["verified", "deferred", "failed"] as const) verifierCounts[key] = (verifierCounts[key] ?? 0) + counts[key];
    // The wick minute's high, read apart once it closed: what the call's wick ATH must reach.
    if (expected === null && Date.now() >= wickMinute + MINUTE) {
      const bars = await minuteTruth(sim.geckoterminalUrl, network, token.pairs[0]!.pairAddress, token.address, wickMinute, wickMinute + MINUTE);
      expected = bars[0]?.high ?? null;
    }
    const [row] = await sql<{ wick: number }[]>`select ath_price_usd::float8 as wick from peakwatch.calls where external_id = 'wick-1'`;
    if (expected !== null && row!.wick >= expected * 0.99) {
      shownAfter = Date.now() - injectedAt;
      break;
    }
    await sleep(Math.max(0, MINUTE - ((Date.now() - injectedAt) % MINUTE)));
  }
  stop = true;
  await tracker;
  const statsAfter = await simStats(sim);
  const limited = statsAfter.rateLimited - statsBefore.rateLimited;
  log(`wick ATH ${shownAfter === null ? "NOT shown" : `shown after ${(shownAfter / 60_000).toFixed(1)} min`} (bar 15 min); ` +
    `(wick high ${expected?.toPrecision(6)}, sampled ATH before ${before!.wick.toPrecision(6)}); ` +
    `GeckoTerminal requests meanwhile: fallback ${fallbackRequests}, verifier ${verifierReads} (${JSON.stringify(verifierCounts)}); simulator 429s: ${limited}`);
  log(`budget: ${PUBLIC_BUDGET}/min in all; verification's own share ${(PUBLIC_BUDGET * GECKO_SHARES.verification.share).toFixed(1)}/min, ` +
    `fallback's ${(PUBLIC_BUDGET * GECKO_SHARES.fallback.share).toFixed(1)}/min plus whatever is idle; the young call's 10-minute cadence, not the budget, sets the delay`);
  return { ok: shownAfter !== null && shownAfter <= 15 * MINUTE && limited === 0, shownAfterMs: shownAfter, limited, fallbackRequests, verifierReads };
}

async function simStats(sim: MarketSimulator): Promise<{ rateLimited: number }> {
  const body = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as { endpoints: Record<string, { rateLimited: number }> };
  return { rateLimited: Object.entries(body.endpoints).filter(([name]) => name.startsWith("geckoterminal")).reduce((n, [, s]) => n + s.rateLimited, 0) };
}


let exitCode = 0;
try {
  const results: Record<string, { ok: boolean }> = {};
  const run = (part: string) => options.only === undefined || options.only === part;
  if (run("accuracy")) results.accuracy = await accuracy();
  if (run("outage")) results.outage = await outage();
  if (run("wick") && !options.skipWick) results.wick = await wick();
  console.log(JSON.stringify({ summary: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v])) }, null, 1));
  if (Object.values(results).some((r) => !r.ok)) exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  redis.disconnect();
}
process.exit(exitCode);
