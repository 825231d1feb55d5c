import { z } from "zod";
import type { Sql } from "../db/client.ts";
import { hasServiceKey } from "../http/auth.ts";
import { endpoint } from "../http/endpoint.ts";
import { badRequest, notFound } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import type { HealthConfig } from "./config.ts";
import { HEALTH_CONTENT_TYPE, healthDocument, healthHttpStatus } from "./document.ts";
import { readLagHistory } from "./history.ts";
import { renderStatusPage } from "./status-page.ts";
import type { HealthReport } from "./types.ts";

export interface HealthHandlerDeps {
  sql: Sql;
  config: HealthConfig;
  keys: readonly string[];
  /** One evaluation of every check (cached and shared between concurrent requests by deps). */
  evaluate(): Promise<HealthReport>;
}

const flag = z.enum(["", "1", "true", "0", "false"]).transform((value) => value === "" || value === "1" || value === "true");

// Unknown parameters are ignored: uptime checkers add their own cache busters.
const healthQuery = z.object({
  format: z.enum(["json", "html"]).optional(),
  strict: flag.optional(),
});

function parseQuery(url: URL) {
  const parsed = healthQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) {
    throw badRequest("invalid query", parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })));
  }
  return parsed.data;
}

/** `/health` (and `/health/`) answers JSON, `/health/status` the page; nothing else lives here. */
function routeOf(pathname: string): "document" | "page" | null {
  const path = pathname.replace(/\/+$/, "");
  if (path === "/health") return "document";
  if (path === "/health/status") return "page";
  return null;
}

/**
 * GET/HEAD /health: application/health+json, 200 for pass and warn, 503 for fail (`?strict`: warn
 * too). No content negotiation: uptime checkers send `Accept: text/html` and still get JSON. The
 * page is `/health/status` or `?format=html`. The service key adds each check's output.
 */
export function createHealthHandler(deps: () => HealthHandlerDeps) {
  return endpoint({ name: "health", methods: ["GET", "HEAD"], access: "public", keys: () => deps().keys }, async (request) => {
    const url = new URL(request.url);
    const route = routeOf(url.pathname);
    if (!route) throw notFound("health answers at /health and /health/status");
    const query = parseQuery(url);
    const { sql, config, keys, evaluate } = deps();
    const detailed = hasServiceKey(request, keys);
    const report = await evaluate();
    const status = healthHttpStatus(report.status, query.strict ?? false);
    if (report.status !== "pass") {
      const failing = report.checks.filter((check) => check.status !== "pass").map((check) => `${check.name}${check.componentId ? `#${check.componentId}` : ""}`);
      logEvent("health.degraded", { status: report.status, failing: failing.slice(0, 20), durationMs: report.durationMs }, "warn");
    }

    const html = route === "page" || query.format === "html";
    let body: string;
    let contentType: string;
    if (html) {
      const history = await readLagHistory(sql, config.chartHours, config.thresholds["tracker:lastSuccessAge"] ?? { warn: null, fail: null });
      body = renderStatusPage(report, history, detailed);
      contentType = "text/html; charset=utf-8";
    } else {
      body = JSON.stringify(healthDocument(report, detailed));
      contentType = HEALTH_CONTENT_TYPE;
    }
    const headers = {
      "Content-Type": contentType,
      "Cache-Control": "no-store",
      // The detailed answer differs by key; shared caches must not mix them up even if they ignore no-store.
      Vary: "Authorization, apikey",
    };
    return new Response(request.method === "HEAD" ? null : body, { status, headers });
  });
}
