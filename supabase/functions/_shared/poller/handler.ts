import { z } from "zod";
import { MAX_CALLS_PER_REQUEST, postedCall } from "../calls/call-input.ts";
import type { Sql } from "../db/client.ts";
import { issuesOf, parseJsonBody } from "../http/body.ts";
import { endpoint } from "../http/endpoint.ts";
import { badRequest, json, notFound, payloadTooLarge } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { finishRun, recordRun, startRun } from "../runs/record.ts";
import { abortOnShutdown, budgetWithinWallClock, runInBackground } from "../runtime.ts";
import { claimSources } from "../sources/claim.ts";
import { findSources } from "../sources/find.ts";
import type { SourceDeps } from "../sources/reader.ts";
import { runCounts, runOutcome, totalCounts } from "./counts.ts";
import { pollSources, type RetryPolicy } from "./poll-source.ts";
import { ingestPosted } from "./post-calls.ts";
import { MAX_BODY_BYTES, type PollerRequest, pollerRequest } from "./request.ts";

export interface PollerSettings {
  /** Due sources one run claims. */
  maxSources: number;
  /** How long a claimed source stays off other pollers' lists (a dead poller frees it then). */
  leaseSeconds: number;
  /** Sources polled side by side. */
  concurrency: number;
  retry?: RetryPolicy;
}

export const defaultPollerSettings: PollerSettings = { maxSources: 20, leaseSeconds: 120, concurrency: 4 };

export interface PollerDeps {
  sql: Sql;
  keys: readonly string[];
  sources(): SourceDeps;
  settings?: Partial<PollerSettings>;
}

/** Time kept back from the budget to record the sources and the run after reads stop. */
const WRITE_RESERVE_MS = 1_500;

async function acceptCalls(sql: Sql, body: PollerRequest & { calls: unknown[] }): Promise<Response> {
  if (body.calls.length > MAX_CALLS_PER_REQUEST) {
    throw payloadTooLarge(
      `at most ${MAX_CALLS_PER_REQUEST} calls per request, got ${body.calls.length}; nothing was ingested — split the batch`,
    );
  }
  const parsed = z.array(postedCall).safeParse(body.calls);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error).map((issue) => ({ ...issue, path: `calls.${issue.path}` }));
    throw badRequest(`invalid calls, nothing was ingested: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const names = [...new Set(parsed.data.map((call) => call.source))];
  const sources = await findSources(sql, names);
  const unknown = names.filter((name) => !sources.has(name));
  if (unknown.length > 0) throw notFound(`unknown source ${unknown.join(", ")}; nothing was ingested`);

  const result = await recordRun(sql, "poller", body.trigger, async () => {
    const report = await ingestPosted(sql, parsed.data, sources);
    return { ...report, counts: runCounts(report.sources), outcome: runOutcome(report.sources) };
  });
  logEvent("poller.ingested", { runId: result.runId, outcome: result.outcome, ...totalCounts(result.sources) });
  return json({ runId: result.runId, outcome: result.outcome, totals: totalCounts(result.sources), sources: result.sources, rejected: result.rejected });
}

async function pollNow(deps: PollerDeps, body: PollerRequest): Promise<Response> {
  const { sql } = deps;
  const settings = { ...defaultPollerSettings, ...deps.settings };
  const sources = await claimSources(sql, { limit: body.source ? 1 : settings.maxSources, leaseSeconds: settings.leaseSeconds, name: body.source });
  if (body.source !== undefined && sources.length === 0) throw notFound(`no source named ${body.source}`);
  if (sources[0]?.kind === "manual" && body.source !== undefined) {
    throw badRequest(`source ${body.source} is of kind manual: it has nothing to poll; post its calls instead`);
  }

  const runId = await startRun(sql, "poller", body.trigger);
  const controller = new AbortController();
  const stopListening = abortOnShutdown(controller);
  const readBudgetMs = Math.max(500, budgetWithinWallClock(body.timeBudgetMs) - WRITE_RESERVE_MS);
  const deadline = Date.now() + readBudgetMs;
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(readBudgetMs)]);

  const work = (async () => {
    try {
      const reports = await pollSources({ sql, sources: deps.sources(), signal, deadline, retry: settings.retry }, sources, settings.concurrency);
      const outcome = runOutcome(reports);
      const totals = totalCounts(reports);
      const counts = runCounts(reports);
      await finishRun(sql, runId, outcome, counts);
      logEvent("poller.finished", { runId, outcome, sources: counts.sources, deferred: counts.deferred, ...totals });
      return { runId, outcome, totals, sources: reports };
    } catch (error) {
      await finishRun(sql, runId, "error", {}, error instanceof Error ? error.message : String(error));
      logEvent("poller.failed", { runId, error: error instanceof Error ? error.name : "unknown" }, "error");
      throw error;
    } finally {
      stopListening();
    }
  })();

  if (body.async) {
    runInBackground(work);
    return json({ runId, status: "accepted", sources: sources.map((source) => source.name) }, 202);
  }
  return json(await work);
}

export function createPollerHandler(deps: () => PollerDeps) {
  return endpoint({ name: "poller", methods: ["POST"], access: "service", keys: () => deps().keys }, async (request) => {
    const body = await parseJsonBody(request, pollerRequest, MAX_BODY_BYTES);
    const current = deps();
    return body.calls ? await acceptCalls(current.sql, { ...body, calls: body.calls }) : await pollNow(current, body);
  });
}
