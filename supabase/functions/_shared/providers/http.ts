import { egressOf } from "../egress/env.ts";
import { EgressError } from "../egress/errors.ts";
import type { Egress } from "../egress/fetch.ts";
import type { EgressRequest } from "../egress/policy.ts";
import { redactText } from "../egress/redact.ts";
import { RateLimitedError, SchemaError, UpstreamError } from "./types.ts";

export interface FetchJsonOptions {
  timeoutMs?: number;
  /** The caller's own cancellation; an abort through it is rethrown as is, not turned into an UpstreamError. */
  signal?: AbortSignal;
  /** A transport of its own (a test double): the egress host rules are then not applied, the size cap is. */
  fetch?: typeof fetch;
  /** Defaults to the isolate's egress (egress/env.ts). */
  egress?: Egress;
  /** What this request is to the egress policy; a provider request by default. */
  egressRequest?: EgressRequest;
  headers?: Record<string, string>;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * GET a JSON document through the egress policy and map every way it can go wrong to one of the
 * provider error kinds; a refused request stays an EgressError (not worth a retry). Messages never
 * carry more of the URL than scheme://host.
 */
export async function fetchJson(url: string, options: FetchJsonOptions = {}): Promise<JsonResponse> {
  const egress = egressOf(options);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

  let text: string;
  let status: number | null = null;
  try {
    const response = await egress.fetch(url, { headers: { accept: "application/json", ...options.headers }, signal }, options.egressRequest ?? { kind: "provider" });
    status = response.status;
    if (!response.ok) {
      await response.body?.cancel();
      if (status === 429) throw new RateLimitedError(parseRetryAfter(response.headers.get("retry-after")));
      throw new UpstreamError(`upstream answered ${status}`, status);
    }
    // The body is read under the same signal, so a stalled body times out too.
    text = await response.text();
  } catch (error) {
    if (error instanceof UpstreamError) throw error;
    if (options.signal?.aborted) throw error;
    if (timeout.aborted) throw new UpstreamError("timeout", null, { cause: error });
    if (error instanceof EgressError) {
      if (error.reason === "too_large") throw new UpstreamError(error.message, error.status ?? status, { cause: error });
      throw error;
    }
    // Runtimes put the whole URL (query and all) in their network errors.
    throw new UpstreamError(`network error: ${redactText(error instanceof Error ? error.message : String(error))}`, null, {
      cause: error,
    });
  }

  try {
    return { status: status!, body: JSON.parse(text) };
  } catch {
    throw new SchemaError(`invalid JSON (${text.length} bytes)`);
  }
}

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
