import { ConfigError } from "../config/config.ts";

/** The error kinds a function can answer with; `errorResponse` is the one place they become HTTP. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface IssueDetail {
  path: string;
  message: string;
}

export const badRequest = (message: string, issues: IssueDetail[] = []) => new HttpError(400, "bad_request", message, issues);
export const unauthorized = () => new HttpError(401, "unauthorized", "missing or invalid service key", undefined, { "WWW-Authenticate": "Bearer" });
export const notFound = (message: string) => new HttpError(404, "not_found", message);
export const methodNotAllowed = (allowed: readonly string[]) =>
  new HttpError(405, "method_not_allowed", `use ${allowed.join(" or ")}`, undefined, { Allow: allowed.join(", ") });
export const payloadTooLarge = (message: string) => new HttpError(413, "payload_too_large", message);
/** 503: the function is deployed but a setting is missing; the message names the variable, never a value. */
export const notConfigured = (what: string) => new HttpError(503, "not_configured", `${what} is not configured on the server`);

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

/** Known errors keep their status and message; anything else is a 500 that reveals nothing. */
export function errorResponse(error: unknown): Response {
  if (error instanceof ConfigError) return json({ error: { code: "not_configured", message: error.message } }, 503);
  if (error instanceof HttpError) {
    const body = { error: { code: error.code, message: error.message, ...(error.details !== undefined ? { issues: error.details } : {}) } };
    return json(body, error.status, error.headers);
  }
  return json({ error: { code: "internal", message: "internal error; see the run log" } }, 500);
}
