import type { Sql } from "../db/client.ts";
import { parseJsonBody } from "../http/body.ts";
import { endpoint } from "../http/endpoint.ts";
import { json } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { finishRun, startRun } from "../runs/record.ts";
import { abortOnShutdown, runInBackground } from "../runtime.ts";
import type { Invoke } from "./invoke.ts";
import { orchestratorRequest } from "./request.ts";
import { type OrchestratorCounts, type OrchestratorSettings, runOrchestrator } from "./run-orchestrator.ts";

export interface OrchestratorDeps {
  sql: Sql;
  keys: readonly string[];
  invoke: Invoke;
  settings?: Partial<OrchestratorSettings>;
  afterRun?: (sql: Sql) => Promise<OrchestratorCounts>;
}

export function createOrchestratorHandler(deps: () => OrchestratorDeps) {
  return endpoint({ name: "orchestrator", methods: ["POST"], access: "service", keys: () => deps().keys }, async (request) => {
    const body = await parseJsonBody(request, orchestratorRequest, 10_000);
    const { sql, invoke, settings, afterRun } = deps();
    const runId = await startRun(sql, "orchestrator", body.trigger);
    const controller = new AbortController();
    const stopListening = abortOnShutdown(controller);
    const work = (async () => {
      try {
        const counts = await runOrchestrator(sql, invoke, { dryRun: body.dryRun, settings, afterRun, signal: controller.signal });
        const outcome = (counts.invokeFailures ?? 0) > 0 || (counts.stoppedByShutdown ?? 0) > 0 ? "partial" : "ok";
        await finishRun(sql, runId, outcome, counts);
        logEvent("orchestrator.finished", { runId, outcome, ...counts });
        return { runId, outcome, counts };
      } catch (error) {
        await finishRun(sql, runId, "error", {}, error instanceof Error ? error.message : String(error));
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
