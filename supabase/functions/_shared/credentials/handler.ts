import { ConfigError } from "../config/config.ts";
import type { Sql } from "../db/client.ts";
import { parseJsonBody } from "../http/body.ts";
import { endpoint } from "../http/endpoint.ts";
import { badRequest, HttpError, json } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { recordRun, type RunOutcome } from "../runs/record.ts";
import { runInBackground } from "../runtime.ts";
import { UnknownCredentialError } from "./errors.ts";
import { tokenRefreshRequest } from "./request.ts";
import { recordCredentialChecks } from "./status.ts";
import type { CredentialCheck, CredentialStore } from "./store.ts";

export interface TokenRefreshDeps {
  sql: Sql;
  keys: readonly string[];
  store: CredentialStore;
}

function summarize(checks: readonly CredentialCheck[]) {
  const failed = checks.filter((check) => check.outcome === "failed");
  const counts = {
    credentials: checks.length,
    fresh: checks.filter((check) => check.outcome === "fresh").length,
    refreshed: checks.filter((check) => check.outcome === "refreshed").length,
    failed: failed.length,
    withoutValidToken: checks.filter((check) => check.expiresAt === null).length,
  };
  const outcome: RunOutcome = failed.length === 0 ? "ok" : failed.length < checks.length ? "partial" : "error";
  const error = failed.length === 0 ? undefined : `${failed.length} of ${checks.length} failed: ${failed.map((check) => check.error).join("; ")}`;
  return { counts, outcome, error };
}

const view = (check: CredentialCheck) => ({
  name: check.name,
  strategy: check.strategy,
  outcome: check.outcome,
  secondsToExpiry: check.secondsToExpiry,
  expiresAt: check.expiresAt === null ? null : new Date(check.expiresAt).toISOString(),
  ...(check.error ? { error: check.error } : {}),
});

/**
 * POST /token-refresh: refreshes every credential whose token is inside its margin (or all, with
 * `force`), records the run and each credential's state, and answers per credential how long its
 * token has left. A failed refresh keeps the old token while it is valid; it is counted, summarized
 * in the run's error and kept in peakwatch.credential_status. 503 when every credential failed.
 */
export function createTokenRefreshHandler(deps: () => TokenRefreshDeps) {
  return endpoint({ name: "token-refresh", methods: ["POST"], access: "service", keys: () => deps().keys }, async (request) => {
    const body = await parseJsonBody(request, tokenRefreshRequest, 10_000);
    const { sql, store } = deps();
    try {
      let announceRunId: (runId: number) => void = () => {};
      const runIdKnown = new Promise<number>((resolve) => (announceRunId = resolve));
      const work = recordRun(sql, "token-refresh", body.trigger, async (runId) => {
        announceRunId(runId);
        const configured = await store.names();
        const unknown = body.names?.find((name) => !configured.includes(name));
        if (unknown !== undefined) throw badRequest(new UnknownCredentialError(unknown, configured).message);
        const checks = await Promise.all((body.names ?? configured).map((name) => store.check(name, { force: body.force })));
        await recordCredentialChecks(sql, checks);
        const summary = summarize(checks);
        logEvent("token-refresh.finished", { runId, outcome: summary.outcome, ...summary.counts }, summary.outcome === "ok" ? "info" : "warn");
        return { ...summary, credentials: checks.map(view) };
      });
      if (body.async) {
        // Under cron: a refresh with penalty waits can outlast pg_net's timeout, so answer at once.
        runInBackground(work);
        return json({ runId: await Promise.race([runIdKnown, work.then((result) => result.runId)]), status: "accepted" }, 202);
      }
      const { runId, outcome, counts, credentials } = await work;
      return json({ runId, outcome, counts, credentials }, outcome === "error" ? 503 : 200);
    } catch (error) {
      // Variable names, never values: the operator learns what to set.
      if (error instanceof ConfigError) throw new HttpError(503, "not_configured", error.message);
      throw error;
    }
  });
}
