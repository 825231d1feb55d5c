import type { Sql } from "../db/client.ts";
import { readBacklog } from "../queue/backlog.ts";
import { requeueDeadLetters } from "../queue/enqueue.ts";
import { lastSuccess, trackerThroughput } from "./freshness.ts";
import type { Invoke } from "./invoke.ts";
import { extraTrackers } from "./plan.ts";

export interface OrchestratorSettings {
  maxFanOut: number;
  providerCeilingPerMinute: number;
  deadLetterCooldownSeconds: number;
  /** A run still "running" after this long was killed without recording its end. */
  abandonedRunSeconds: number;
  housekeepingBatch: number;
  /** Seconds without a successful run after which the orchestrator invokes the function itself. */
  selfHealAfterSeconds: Record<string, number>;
}

export const defaultOrchestratorSettings: OrchestratorSettings = {
  maxFanOut: 3,
  providerCeilingPerMinute: 290 * 30,
  deadLetterCooldownSeconds: 3_600,
  abandonedRunSeconds: 900,
  housekeepingBatch: 5_000,
  selfHealAfterSeconds: { poller: 300, tracker: 300, "token-refresh": 900, candles: 300 },
};

export type OrchestratorCounts = Record<string, number>;

/** Bodies for functions the orchestrator starts: asynchronous where the function supports it. */
const healBody: Record<string, Record<string, unknown>> = {
  tracker: { trigger: "orchestrator", async: true },
  poller: { trigger: "orchestrator", async: true },
  "token-refresh": { trigger: "orchestrator", async: true },
  candles: { trigger: "orchestrator", async: true },
};

export async function runOrchestrator(
  sql: Sql,
  invoke: Invoke,
  options: {
    dryRun: boolean;
    settings?: Partial<OrchestratorSettings>;
    afterRun?: (sql: Sql) => Promise<OrchestratorCounts>;
    /** Aborted on `beforeunload`: the steps not yet begun are skipped and the run says so. */
    signal?: AbortSignal;
  },
): Promise<OrchestratorCounts> {
  const settings = { ...defaultOrchestratorSettings, ...options.settings };
  const counts: OrchestratorCounts = { fannedOut: 0, healed: 0, invokeFailures: 0 };
  const stopping = () => {
    if (options.signal?.aborted) counts.stoppedByShutdown = 1;
    return options.signal?.aborted ?? false;
  };
  const start = async (name: string) => {
    const result = await invoke(name, healBody[name] ?? { trigger: "orchestrator" });
    if (!result.ok) counts.invokeFailures = (counts.invokeFailures ?? 0) + 1;
    return result.ok;
  };

  const backlog = await readBacklog(sql);
  counts.dueBacklog = backlog.due_count;
  const extra = extraTrackers({
    dueCount: backlog.due_count,
    perTrackerPerMinute: await trackerThroughput(sql),
    providerCeilingPerMinute: settings.providerCeilingPerMinute,
    scheduledTrackers: 1,
    maxFanOut: settings.maxFanOut,
  });
  counts.plannedTrackers = extra;
  if (!options.dryRun) {
    for (let i = 0; i < extra; i++) if (await start("tracker")) counts.fannedOut! += 1;
  }

  if (stopping()) return counts;
  counts.requeuedDeadLetters = await requeueDeadLetters(sql, settings.deadLetterCooldownSeconds);
  const [abandoned] = await sql<{ n: number }[]>`
    with stale as (
      update peakwatch.runs set outcome = 'error', finished_at = now(), error = 'abandoned: the invocation ended without recording a result'
      where outcome = 'running' and started_at < now() - make_interval(secs => ${settings.abandonedRunSeconds})
      returning 1
    ) select count(*)::int as n from stale`;
  counts.abandonedRuns = abandoned!.n;
  const [pruned] = await sql<{ result: Record<string, number> }[]>`
    select peakwatch.housekeeping(p_batch => ${settings.housekeepingBatch}::int) as result`;
  for (const [key, value] of Object.entries(pruned!.result)) counts[`pruned_${key}`] = value;

  if (stopping()) return counts;
  const stale = (await lastSuccess(sql, Object.keys(settings.selfHealAfterSeconds))).filter(
    (f) => f.seconds_since_ok === null || f.seconds_since_ok > settings.selfHealAfterSeconds[f.function_name]!,
  );
  counts.staleFunctions = stale.length;
  if (!options.dryRun) {
    for (const f of stale) if (await start(f.function_name)) counts.healed! += 1;
  }

  if (stopping()) return counts;
  if (options.afterRun) Object.assign(counts, await options.afterRun(sql));
  return counts;
}
