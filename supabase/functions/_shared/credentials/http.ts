import { EgressError } from "../egress/errors.ts";
import { egressOf } from "../egress/env.ts";
import type { Egress } from "../egress/fetch.ts";
import { parseRetryAfter } from "../providers/http.ts";
import { CredentialUpstreamError } from "./errors.ts";

export interface UpstreamCall {
  /** Every request goes out through it: https, the credential's allowed hosts, no redirects, a size cap. */
  egress?: Egress;
  /** A transport of its own (a test double) when no egress is given: caps and no-redirect only. */
  fetch?: typeof fetch;
  /** The credential's allowed hosts (definitions.ts allowedHostsOf); every request to another host is refused. */
  allowedHosts?: readonly string[];
  timeoutMs: number;
  /** The whole refresh's deadline (it must finish inside the lock it holds). */
  signal?: AbortSignal;
}

export interface UpstreamAnswer {
  status: number;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  json: unknown;
  retryAfterMs: number | null;
}

/**
 * One request to an auth endpoint. Network failures and timeouts become CredentialUpstreamError
 * ("unavailable"); any HTTP status comes back as an answer for the caller to read, since auth
 * endpoints put what went wrong in the body. Nothing of the request is ever put in an error.
 */
export async function send(credential: string, url: string, init: RequestInit, call: UpstreamCall): Promise<UpstreamAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  try {
    const response = await egressOf(call).fetch(url, { ...init, signal }, {
      kind: "credential",
      carriesSecret: true,
      secretHosts: call.allowedHosts,
      secretName: `credential "${credential}"`,
    });
    const text = await response.text();
    return { status: response.status, json: parseJson(text), retryAfterMs: parseRetryAfter(response.headers.get("retry-after")) };
  } catch (error) {
    if (error instanceof EgressError) {
      throw new CredentialUpstreamError(credential, error.reason === "too_large" ? "schema" : "refused", error.message, error.status, null, { cause: error });
    }
    const reason = timeout.aborted ? `no answer within ${call.timeoutMs} ms` : call.signal?.aborted ? "refresh deadline reached" : "network error";
    throw new CredentialUpstreamError(credential, "unavailable", reason, null, null, { cause: error });
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Zod issue paths and messages only: never the values, which may be tokens. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.slice(0, 5).map((issue) => `${issue.path.map(String).join(".") || "(body)"}: ${issue.message}`).join("; ");
}
