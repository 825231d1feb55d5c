import type { Sql } from "../db/client.ts";
import { parseJsonBody } from "../http/body.ts";
import { endpoint } from "../http/endpoint.ts";
import { json, methodNotAllowed } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { finishRun, startRun } from "../runs/record.ts";
import { abortOnShutdown, budgetWithinWallClock, runInBackground } from "../runtime.ts";
import type { TradingCalendar } from "./calendar.ts";
import { type CollectSettings, type CollectStats, type ProviderLanes, runCandles } from "./collect.ts";
import { candlesRequest } from "./request.ts";
import type { CandleProviderName } from "./sql/claim.ts";

export interface CandlesDeps {
  sql: Sql;
  keys: readonly string[];
  providers(): Partial<Record<CandleProviderName, ProviderLanes>>;
  calendarFor(name: string): TradingCalendar | null;
  /** GET: the read API (h16a's handleCandlesRead, wired in deps); absent, GET answers 405. */
  read?: (request: Request) => Promise<Response>;
  settings?: Partial<CollectSettings>;
  /** Async set-up before each collection (issue 18: the CME holiday rows, the Tradovate provider). */
  prepare?: () => Promise<void>;
}

const OVERRUN_MS = 30_000;

// A counted failure (provider, schema drift, a bad calendar) makes the run partial; waiting for our own budget does not.
const outcomeOf = (stats: CollectStats) => ((stats.failed ?? 0) > 0 ? "partial" : "ok");

/** POST collects (claims due streams, one step each, within the time budget); GET reads. */
export function createCandlesHandler(deps: () => CandlesDeps) {
  return endpoint({ name: "candles", methods: ["POST", "GET"], access: "service", keys: () => deps().keys }, async (request) => {
    if (request.method === "GET") {
      const read = deps().read;
      if (!read) throw methodNotAllowed(["POST"]);
      return read(request);
    }
    const body = await parseJsonBody(request, candlesRequest, 10_000);
    const { sql, providers, calendarFor, settings } = deps();
    const owner = `candles-${crypto.randomUUID().slice(0, 8)}`;
    const runId = await startRun(sql, "candles", body.trigger);
    const controller = new AbortController();
    const stopListening = abortOnShutdown(controller);

    const work = (async () => {
      try {
        await deps().prepare?.();
        const timeBudgetMs = budgetWithinWallClock(body.timeBudgetMs);
        // A step stuck past the budget (an upstream or client promise that never settles) must not
        // leave the run "running" unseen: it is aborted and recorded as an error.
        let watchdog: ReturnType<typeof setTimeout> | undefined;
        const overran = new Promise<never>((_, reject) => {
          watchdog = setTimeout(() => {
            const error = new Error(`candles run still going ${OVERRUN_MS / 1000} s after its time budget`);
            controller.abort(error);
            reject(error);
          }, timeBudgetMs + OVERRUN_MS);
        });
        const stats = await Promise.race([
          runCandles({ sql, owner, providers: providers(), calendarFor, timeBudgetMs, maxSteps: body.maxSteps, signal: controller.signal, settings }),
          overran,
        ]).finally(() => clearTimeout(watchdog));
        if (controller.signal.aborted) stats.stoppedByShutdown = 1;
        const outcome = outcomeOf(stats);
        await finishRun(sql, runId, outcome, stats);
        logEvent("candles.finished", { runId, owner, outcome, ...stats });
        return { runId, outcome, stats };
      } catch (error) {
        await finishRun(sql, runId, "error", {}, error instanceof Error ? error.message : String(error));
        logEvent("candles.failed", { runId, owner, error: error instanceof Error ? error.name : "unknown" }, "error");
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
