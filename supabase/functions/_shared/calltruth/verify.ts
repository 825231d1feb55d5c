import type { Sql } from "../db/client.ts";
import type { CandleProvider } from "../candles/provider.ts";
import type { Timeframe } from "../candles/timeframes.ts";
import { toGeckoNetwork } from "../providers/geckoterminal.ts";
import { BarReadFailed, BudgetSpent, poolBarSource } from "./bar-sources.ts";
import { entryAtCall } from "./entry.ts";
import { findPeaks, type Peak } from "./peaks.ts";
import { type ClaimedVerification, claimVerifications } from "./sql/claim-verifications.ts";
import { completeVerifications, type VerificationVerdict } from "./sql/complete-verifications.ts";
import { failVerifications, releaseVerifications } from "./sql/fail-verifications.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/**
 * The tiers a peak is narrowed through (GeckoTerminal serves day 1, hour 1, minute 5 and 1). Up to
 * two pages of minutes are read directly (an incremental window is minutes long: one request);
 * longer windows are narrowed from hours, or from days beyond a week, so a month-old call costs a
 * handful of requests, not 43. The store keeps 5m, 1h and 1d for called tokens' pools.
 */
export function peakTiers(windowMs: number): Timeframe[] {
  if (windowMs <= 2_000 * MINUTE) return ["1m"];
  if (windowMs <= 7 * 24 * HOUR) return ["1h", "5m", "1m"];
  return ["1d", "1h", "5m", "1m"];
}
const STEP = 5 * MINUTE;

export interface VerifyOptions {
  owner: string;
  /** Calls claimed per pass. */
  batch: number;
  leaseSeconds: number;
  entryToleranceMs: number;
  /** A young call is verified again this often (it must show a missed wick within 15 minutes). */
  youngEveryMs: number;
  /** Stop claiming when this instant passes (the invocation's time budget). */
  deadline: number;
}

export const DEFAULT_VERIFY: Omit<VerifyOptions, "owner" | "deadline"> = {
  batch: 50,
  leaseSeconds: 120,
  entryToleranceMs: 5 * MINUTE,
  youngEveryMs: 10 * MINUTE,
};

export interface VerifyDeps {
  sql: Sql;
  /**
   * GeckoTerminal OHLCV, each spending its own share of the one budget: young calls at the
   * `verification` priority, the backlog of older calls at `backfill`, the lowest.
   */
  providers: { young: CandleProvider; backlog: CandleProvider };
  now: () => Date;
  signal: AbortSignal;
}

export interface VerifyCounts {
  verified: number;
  failed: number;
  deferred: number;
  providerReads: number;
  storeReads: number;
  errors: Record<string, number>;
}

/** One verification run: young calls first, then the backlog, each within its budget. */
export async function verifyCalls(deps: VerifyDeps, options: VerifyOptions): Promise<VerifyCounts> {
  const counts: VerifyCounts = { verified: 0, failed: 0, deferred: 0, providerReads: 0, storeReads: 0, errors: {} };
  for (const young of [true, false]) {
    while (Date.now() < options.deadline && !deps.signal.aborted) {
      const claimed = await claimVerifications(deps.sql, { owner: options.owner, limit: options.batch, leaseSeconds: options.leaseSeconds, young });
      if (claimed.length === 0) break;
      const spent = await verifyBatch(deps, options, claimed, young, counts);
      if (spent) break;
    }
  }
  return counts;
}

/** Returns true when the budget ran out (the rest of the batch is put back as due). */
async function verifyBatch(deps: VerifyDeps, options: VerifyOptions, claimed: ClaimedVerification[], young: boolean, counts: VerifyCounts): Promise<boolean> {
  const byToken = new Map<number, ClaimedVerification[]>();
  for (const row of claimed) byToken.set(row.token_id, [...(byToken.get(row.token_id) ?? []), row]);
  const verdicts: VerificationVerdict[] = [];
  let spent = false;
  for (const rows of byToken.values()) {
    if (spent || Date.now() >= options.deadline) {
      await releaseVerifications(deps.sql, options.owner, rows.map((r) => r.call_id));
      counts.deferred += rows.length;
      continue;
    }
    try {
      verdicts.push(...(await verifyToken(deps, options, rows, young, counts)));
    } catch (error) {
      if (error instanceof BudgetSpent) {
        spent = true;
        await releaseVerifications(deps.sql, options.owner, rows.map((r) => r.call_id));
        counts.deferred += rows.length;
        continue;
      }
      const kind = error instanceof BarReadFailed ? error.kind : "verify_error";
      counts.errors[kind] = (counts.errors[kind] ?? 0) + rows.length;
      counts.failed += rows.length;
      const retry = new Date(deps.now().getTime() + Math.min(HOUR, 2 ** Math.min(rows[0]!.attempts, 6) * MINUTE));
      await failVerifications(deps.sql, options.owner, rows.map((r) => r.call_id), `${kind}: ${(error as Error).message}`.slice(0, 300), retry);
    }
  }
  counts.verified += await completeVerifications(deps.sql, options.owner, verdicts);
  return spent;
}

async function verifyToken(deps: VerifyDeps, options: VerifyOptions, rows: ClaimedVerification[], young: boolean, counts: VerifyCounts): Promise<VerificationVerdict[]> {
  const first = rows[0]!;
  const network = toGeckoNetwork(first.chain);
  const now = deps.now();
  // Read up to the end of the forming 5-minute bar; the next verification starts again at its start,
  // so an incremental window is whole 5-minute bars (re-reading a bar is harmless: figures only merge).
  const forming = Math.floor(now.getTime() / STEP) * STEP;
  const through = new Date(forming);
  const end = new Date(forming + STEP);
  if (!network || first.pools.length === 0) {
    return rows.map((row) => emptyVerdict(row, null, nextDue(row, now, options)));
  }
  const sources = first.pools.map((pool) =>
    poolBarSource(
      { network, pool, token: first.token_address, tokenId: first.token_id },
      { sql: deps.sql, provider: young ? deps.providers.young : deps.providers.backlog, signal: deps.signal, counters: counts },
    ),
  );
  const verdicts: VerificationVerdict[] = [];
  // Oldest window first: its reads cover the later calls' ranges, which are then answered from them.
  const ordered = [...rows].sort((a, b) => windowStart(a) - windowStart(b));
  for (const row of ordered) {
    const readsBefore = counts.providerReads;
    const calledAt = new Date(row.called_at);
    const from = row.verified_through ? new Date(row.verified_through) : new Date(Math.ceil(calledAt.getTime() / MINUTE) * MINUTE);
    let wick: Peak | null = null;
    let tradeable: Peak | null = null;
    if (from < end) {
      for (const source of sources) {
        const peaks = await findPeaks(source, peakTiers(end.getTime() - from.getTime()), from, end);
        if (!peaks) continue;
        if (!wick || peaks.wick.priceUsd > wick.priceUsd) wick = peaks.wick;
        if (!tradeable || peaks.tradeable.priceUsd > tradeable.priceUsd) tradeable = peaks.tradeable;
      }
    }
    let entry = null;
    if (row.entry_source !== "caller" && (row.entry_price_usd === null || row.entry_source !== "candles" || row.entry_approximate)) {
      const window = [new Date(calledAt.getTime() - options.entryToleranceMs - MINUTE), calledAt] as const;
      for (const source of sources) {
        const found = entryAtCall(await source("1m", window[0], window[1]), calledAt, options.entryToleranceMs);
        if (found && (!entry || found.observedAt > entry.observedAt)) entry = found;
      }
    }
    verdicts.push({
      ...emptyVerdict(row, from < through ? through : row.verified_through ? new Date(row.verified_through) : null, nextDue(row, now, options)),
      wick_usd: wick?.priceUsd ?? null,
      wick_at: wick?.at.toISOString() ?? null,
      wick_resolution: wick?.resolution ?? null,
      tradeable_usd: tradeable?.priceUsd ?? null,
      tradeable_at: tradeable?.at.toISOString() ?? null,
      tradeable_resolution: tradeable?.resolution ?? null,
      entry_usd: entry?.priceUsd ?? null,
      entry_observed_at: entry?.observedAt.toISOString() ?? null,
      entry_approximate: entry?.approximate ?? null,
      reads: counts.providerReads - readsBefore,
    });
  }
  return verdicts;
}

const windowStart = (row: ClaimedVerification) =>
  row.verified_through ? new Date(row.verified_through).getTime() : Math.ceil(new Date(row.called_at).getTime() / MINUTE) * MINUTE;

function emptyVerdict(row: ClaimedVerification, through: Date | null, nextDueAt: Date): VerificationVerdict {
  return {
    call_id: row.call_id, verified_through: through?.toISOString() ?? null, wick_usd: null, wick_at: null, wick_resolution: null,
    tradeable_usd: null, tradeable_at: null, tradeable_resolution: null, entry_usd: null, entry_observed_at: null,
    entry_approximate: null, reads: 0, next_due_at: nextDueAt.toISOString(),
  };
}

/** Young calls every few minutes, then hourly in the first week, then daily. */
function nextDue(row: ClaimedVerification, now: Date, options: VerifyOptions): Date {
  const age = now.getTime() - new Date(row.called_at).getTime();
  const every = age < 24 * HOUR ? options.youngEveryMs : age < 7 * 24 * HOUR ? HOUR : 24 * HOUR;
  return new Date(now.getTime() + every);
}

