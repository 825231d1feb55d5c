import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { TrackerStats } from "../../supabase/functions/_shared/tracker/stats.ts";
import type { SimCounts } from "./market.ts";
import type { EndState, LatencySummary } from "./measure.ts";

/** The floor that must hold: tokens first-priced per minute against DexScreener's ceiling alone. */
export const RATIO_TARGET = 0.9;
export const P95_TARGET_S = 10;
/** The aim with both providers' budgets: against their combined ceiling, and a 2 s first price. */
export const COMBINED_AIM = 0.97;
export const P95_AIM_S = 2;
/** Above this the in-process simulator (or the machine) is the bottleneck, not the tracker. */
export const EVENT_LOOP_WARN_MS = 250;

export interface TimelineSample {
  /** Seconds since the trackers started. */
  s: number;
  backlogPriced: number;
  dexscreenerRequests: number;
  dexscreenerRateLimited: number;
  geckoterminalRequests: number;
}

export interface Report {
  startedAt: string;
  environment: Record<string, string | number>;
  config: {
    backlog: number;
    /** The backlog minus never-listed tokens. */
    priceable: number;
    mix: Record<string, number>;
    chains: string[];
    pumpShare: number;
    trackers: number;
    timeBudgetMs: number;
    settings: Record<string, unknown>;
    chainPerTracker: boolean;
    limiter: { ratePerMinute: number; burst: number };
    geckoLimiter: { ratePerMinute: number; burst: number };
    simulatorLimitPerMinute: number;
    simulatorGeckoLimitPerMinute: number;
    streamPerSecond: number;
    drainCapMs: number;
    afterDrainMs: number;
  };
  drain: {
    complete: boolean;
    backlogPriced: number;
    seconds: number;
    /** Tokens priced for the first time inside the drain window: the backlog plus streamed arrivals. */
    firstPricings: number;
    pricedPerMinute: number;
    ceilingPerMinute: number;
    ratio: number;
    combinedCeilingPerMinute: number;
    combinedRatio: number;
    dexscreenerRequests: number;
    geckoterminalRequests: number;
    requestsPerMinute: number;
    geckoRequestsPerMinute: number;
    /** Requests per minute of both providers over their combined limit. */
    budgetUse: number;
    addressesPerRequest: number;
  };
  rateLimited: { simulatorDexscreener: number; simulatorGeckoterminal: number; trackers: number };
  timeToFirstPrice: { all: LatencySummary; duringDrain: LatencySummary; afterDrain: LatencySummary };
  stream: { arrivals: number; errors: number; lateTicks: number; firstErrors: string[] };
  totals: { seconds: number; invocations: number; invocationErrors: string[]; stats: TrackerStats; simulator: SimCounts };
  endState: EndState;
  deadByKind: Record<string, number>;
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  trackerLogLines: number;
  pass: { ratio: boolean; no429: boolean; p95: boolean; combined: boolean; p95Aim: boolean };
  timeline: TimelineSample[];
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const secs = (n: number | null) => (n === null ? "n/a" : Number.isFinite(n) ? `${n.toFixed(2)} s` : "never priced");
const mark = (ok: boolean) => (ok ? "ok" : "MISSED");

function latency(label: string, l: LatencySummary): string {
  const unpriced = l.tokens - l.priced;
  return `${label}${l.tokens} tokens${unpriced > 0 ? ` (${unpriced} never priced)` : ""}: p50 ${secs(l.p50)}, p95 ${secs(l.p95)}, max ${secs(l.max)}`;
}

export function formatReport(r: Report): string[] {
  const d = r.drain;
  const c = r.config;
  const t = r.totals.stats;
  const batch = String(c.settings.batchSize);
  return [
    `setup         ${int(c.backlog)} tokens on ${c.chains.length} chains (shuffled), ${c.trackers} trackers${c.chainPerTracker ? " (one chain each)" : ""}, batch ${batch}, budget ${c.timeBudgetMs / 1000} s, limiters dexscreener ${c.limiter.ratePerMinute}/min burst ${c.limiter.burst}, geckoterminal ${c.geckoLimiter.ratePerMinute}/min burst ${c.geckoLimiter.burst}; simulator ${c.simulatorLimitPerMinute} + ${c.simulatorGeckoLimitPerMinute}/min`,
    `mix           ${Object.entries(c.mix).map(([kind, n]) => `${kind} ${int(n)}`).join(", ")}`,
    `drain         ${int(d.backlogPriced)} of ${int(c.priceable)} priceable backlog tokens priced in ${d.seconds.toFixed(1)} s${d.complete ? "" : ` (INCOMPLETE: cap ${c.drainCapMs / 60_000} min)`}`,
    `throughput    ${int(d.pricedPerMinute)} tokens/min first-priced over the drain (${int(d.firstPricings)} tokens incl. streamed)`,
    `ceiling       ${int(d.ceilingPerMinute)} tokens/min (${c.simulatorLimitPerMinute} req/min x 30 addresses)`,
    `ratio         ${(d.ratio * 100).toFixed(1)}% of the DexScreener ceiling (floor >= ${RATIO_TARGET * 100}%: ${mark(r.pass.ratio)})`,
    `combined      ${(d.combinedRatio * 100).toFixed(1)}% of the combined ceiling ${int(d.combinedCeilingPerMinute)} tokens/min (aim >= ${COMBINED_AIM * 100}%: ${mark(r.pass.combined)}); budget use ${(d.budgetUse * 100).toFixed(1)}% of ${c.simulatorLimitPerMinute + c.simulatorGeckoLimitPerMinute} req/min`,
    `requests      dexscreener ${d.requestsPerMinute.toFixed(1)} + geckoterminal ${d.geckoRequestsPerMinute.toFixed(1)} req/min over the drain, ${d.addressesPerRequest.toFixed(1)} tokens first-priced per request`,
    `429s          simulator: dexscreener ${r.rateLimited.simulatorDexscreener}, geckoterminal ${r.rateLimited.simulatorGeckoterminal}; trackers stats.rateLimited ${r.rateLimited.trackers} (target 0: ${mark(r.pass.no429)})`,
    `${latency("first price   streamed ", r.timeToFirstPrice.all)} (floor p95 < ${P95_TARGET_S} s: ${mark(r.pass.p95)}; aim < ${P95_AIM_S} s: ${mark(r.pass.p95Aim)})`,
    latency("  arrived during the drain  ", r.timeToFirstPrice.duringDrain),
    latency("  arrived after the drain   ", r.timeToFirstPrice.afterDrain),
    `stream        ${r.stream.arrivals} arrivals, ${r.stream.errors} errors, ${r.stream.lateTicks} late ticks`,
    `totals        ${r.totals.seconds.toFixed(1)} s, ${r.totals.invocations} invocations${r.totals.invocationErrors.length > 0 ? ` (${r.totals.invocationErrors.length} threw)` : ""}, ${t.batches} batches, claimed ${int(t.claimed)}, priced ${int(t.priced)}, pending ${t.pending}, missing ${t.missing}, failed ${t.failed}, dead-lettered ${t.deadLettered}, stale ${t.staleDropped}`,
    `              provider calls ${int(t.providerCalls)} (dexscreener ${int(t.dexscreenerCalls)}, geckoterminal ${int(t.geckoterminalCalls)}), fallback used ${t.fallbackUsed}, spare ${t.spareUsed} (${t.spareFailures} failed), parse failures ${t.parseFailures}, rate limited ${t.rateLimited}`,
    `market truth  unpriceable ${t.unpriceable}, poison ${t.poisonItems}, absurd market caps dropped ${t.absurdMarketCaps}; yield dexscreener ${t.dexscreenerPricedKnown}/${t.dexscreenerAskedKnown}, geckoterminal ${t.geckoterminalPricedKnown}/${t.geckoterminalAskedKnown}`,
    `              simulator dexscreener ${int(r.totals.simulator.dexscreener.requests)} requests (${r.totals.simulator.dexscreener.rateLimited} x 429), geckoterminal ${r.totals.simulator.geckoterminal.requests}`,
    `end state     tokens ${JSON.stringify(r.endState.tokens)}, queue ${JSON.stringify(r.endState.queue)}`,
    `dead by kind  ${JSON.stringify(r.deadByKind)} (only rug may appear)`,
    `event loop    delay mean ${r.eventLoopDelayMs.mean.toFixed(1)} ms, p99 ${r.eventLoopDelayMs.p99.toFixed(1)} ms, max ${r.eventLoopDelayMs.max.toFixed(1)} ms (simulator and trackers share this process); load average ${r.environment.loadStart} at start, ${r.environment.loadEnd} at end on ${r.environment.cpus} CPUs`,
    ...(r.eventLoopDelayMs.p99 > EVENT_LOOP_WARN_MS
      ? [`WARNING       event-loop delay p99 over ${EVENT_LOOP_WARN_MS} ms: this process was CPU-bound (the simulator answers in the same thread), so the figures above measure the machine and the simulator, not the tracker`]
      : []),
  ];
}

/** bench/results/ is git-ignored: figures stay on the machine that measured them. */
export function resultPath(benchDir: string, startedAt: string, ext: string): string {
  const dir = path.join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `tracker-${startedAt.replace(/[:.]/g, "-")}.${ext}`);
}

export function writeReport(file: string, report: Report): void {
  // Infinity (a never-priced token in a percentile) becomes null in JSON.
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
