import type { Sql } from "../db/client.ts";
import { parseJsonBody } from "../http/body.ts";
import { endpoint } from "../http/endpoint.ts";
import { json } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { finishRun, startRun } from "../runs/record.ts";
import { abortOnShutdown, budgetWithinWallClock, runInBackground } from "../runtime.ts";
import type { Lane } from "./lanes.ts";
import { trackerRequest } from "./request.ts";
import { runTracker, type TrackerSettings } from "./run-tracker.ts";
import type { TrackerStats } from "./stats.ts";

export interface TrackerDeps {
  sql: Sql;
  keys: readonly string[];
  lanes(): { primary: Lane; fallback?: Lane };
  settings?: Partial<TrackerSettings>;
}

const outcomeOf = (stats: TrackerStats) => (stats.failed > 0 || stats.parseFailures > 0 ? "partial" : "ok");

export function createTrackerHandler(deps: () => TrackerDeps) {
  return endpoint({ name: "tracker", methods: ["POST"], access: "service", keys: () => deps().keys }, async (request) => {
    const body = await parseJsonBody(request, trackerRequest, 10_000);
    const { sql, lanes, settings } = deps();
    const worker = `tracker-${crypto.randomUUID().slice(0, 8)}`;
    const runId = await startRun(sql, "tracker", body.trigger);
    const controller = new AbortController();
    const stopListening = abortOnShutdown(controller);

    const work = (async () => {
      try {
        const stats = await runTracker({
          sql,
          worker,
          ...lanes(),
          timeBudgetMs: budgetWithinWallClock(body.timeBudgetMs),
          maxTokens: body.maxTokens,
          chains: body.chains,
          signal: controller.signal,
          settings,
        });
        const outcome = outcomeOf(stats);
        await finishRun(sql, runId, outcome, { ...stats });
        logEvent("tracker.finished", { runId, worker, outcome, ...stats });
        return { runId, outcome, stats };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await finishRun(sql, runId, "error", {}, message);
        logEvent("tracker.failed", { runId, worker, error: error instanceof Error ? error.name : "unknown" }, "error");
        throw error;
      } finally {
        stopListening();
      }
    })();

    if (body.async) {
      runInBackground(work);
      return json({ runId, status: "accepted" }, 202);
    }
    return json(await work);
  });
}
