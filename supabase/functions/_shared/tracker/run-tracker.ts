import type { Sql } from "../db/client.ts";
import { logEvent } from "../log.ts";
import { claim } from "../queue/claim.ts";
import { release } from "../queue/enqueue.ts";
import { fail, type FailPolicy, defaultFailPolicy } from "../queue/fail.ts";
import { sleep } from "../limits/sleep.ts";
import type { Lane } from "./lanes.ts";
import { priceBatch } from "./price-batch.ts";
import { observeYield } from "./provider-yield.ts";
import { writeChecks } from "./write-checks.ts";
import { emptyStats, type TrackerStats } from "./stats.ts";

export interface TrackerSettings {
  batchSize: number;
  /** Claim one chain per batch, so each provider request carries a full 30 addresses. */
  oneChainPerBatch: boolean;
  leaseSeconds: number;
  idlePollMs: number;
  /** Stop claiming when less than this is left of the budget: a batch must finish and be written. */
  reserveMs: number;
  liquidityFloorUsd: number;
  deadAfterMisses: number;
  /** Ask the fallback first when it has a free slot, so both providers' budgets are used. */
  spareFallback: boolean;
  failPolicy: FailPolicy;
}

export const defaultTrackerSettings: TrackerSettings = {
  batchSize: 90,
  oneChainPerBatch: true,
  leaseSeconds: 90,
  idlePollMs: 500,
  reserveMs: 4_000,
  liquidityFloorUsd: 100,
  deadAfterMisses: 5,
  spareFallback: true,
  failPolicy: defaultFailPolicy,
};

export interface TrackerRun {
  sql: Sql;
  worker: string;
  primary: Lane;
  fallback?: Lane;
  timeBudgetMs: number;
  maxTokens?: number;
  chains?: string[];
  signal: AbortSignal;
  settings?: Partial<TrackerSettings>;
  /** Called after each batch is written, with the stats so far (run checkpoints, progress). */
  onBatch?: (stats: TrackerStats) => Promise<void> | void;
}

/**
 * Claim a batch, price it, write it with one record_checks and one fail call, repeat — until the
 * time budget, maxTokens or a shutdown. An empty queue is polled again until the budget runs out,
 * so a token inserted mid-run is priced within about a second. Memory holds one batch at a time.
 */
export async function runTracker(run: TrackerRun): Promise<TrackerStats> {
  const settings = { ...defaultTrackerSettings, ...run.settings };
  const started = Date.now();
  const deadline = started + run.timeBudgetMs;
  const stats = emptyStats();
  const limit = run.maxTokens ?? Number.POSITIVE_INFINITY;

  while (!run.signal.aborted && stats.claimed < limit && Date.now() < deadline - settings.reserveMs) {
    const batch = await claim(run.sql, {
      worker: run.worker,
      limit: Math.min(settings.batchSize, limit - stats.claimed),
      leaseSeconds: settings.leaseSeconds,
      chains: run.chains,
      oneChain: settings.oneChainPerBatch,
    });
    if (batch.length === 0) {
      // an abort ends the wait early; the loop condition then stops the run
      await sleep(Math.min(settings.idlePollMs, Math.max(0, deadline - settings.reserveMs - Date.now())), run.signal).catch(() => {});
      continue;
    }
    stats.claimed += batch.length;
    stats.batches += 1;

    const outcome = await priceBatch(batch, {
      primary: run.primary,
      fallback: run.fallback,
      deadline: deadline - settings.reserveMs / 2,
      signal: run.signal,
      stats,
      liquidityFloorUsd: settings.liquidityFloorUsd,
      spareFallback: settings.spareFallback,
      observe: (provider, chain, asked, result) =>
        observeYield([run.primary, run.fallback].find((lane) => lane?.provider.name === provider)?.priced, provider, chain, asked, result, stats),
    });
    const { held, poison } = await writeChecks(run.sql, run.worker, outcome.checks, settings.deadAfterMisses);
    stats.poisonItems += poison.length;
    const failed = await fail(run.sql, run.worker, [...outcome.failures, ...poison], settings.failPolicy);
    await release(run.sql, run.worker, outcome.unstarted);

    const wasPending = new Set(batch.filter((t) => t.status === "pending").map((t) => t.token_id));
    const heldIds = new Set(held.map((row) => row.token_id));
    for (const check of outcome.checks) {
      if (!heldIds.has(check.token_id)) continue;
      if (check.outcome === "priced") stats.priced += 1;
      else if (check.outcome === "unpriceable") stats.unpriceable += 1;
      else if (wasPending.has(check.token_id)) stats.pending += 1;
      else stats.missing += 1;
    }
    stats.staleDropped += outcome.checks.length - poison.length - held.length + (outcome.failures.length + poison.length - failed.length);
    stats.failed += failed.length;
    stats.providerFailures += failed.filter((row) => row.kind === "provider").length;
    stats.deadLettered += failed.filter((row) => row.dead_lettered).length;
    logEvent("tracker.batch", { worker: run.worker, claimed: batch.length, priced: stats.priced, failed: failed.length });
    await run.onBatch?.(stats);
  }
  stats.durationMs = Date.now() - started;
  return stats;
}
