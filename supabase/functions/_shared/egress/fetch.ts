import { capBody } from "./caps.ts";
import { EgressError } from "./errors.ts";
import { type EgressPolicy, type EgressRequest, unrestrictedPolicy } from "./policy.ts";
import { redactUrl } from "./redact.ts";

/** Redirects an answer may go through when it carries no secret; each hop is checked like the first. */
export const MAX_REDIRECTS = 3;

/** Every outgoing request of peakwatch goes through one of these. */
export interface Egress {
  readonly policy: EgressPolicy;
  /**
   * Sends after the policy allowed the URL (and every redirect hop); the answer's body is capped for
   * its kind. A request carrying a secret never follows a redirect: a 3xx is an EgressError.
   */
  fetch(url: string, init: RequestInit, request: EgressRequest): Promise<Response>;
}

const isRedirect = (response: Response) => response.status >= 300 && response.status < 400 && response.headers.has("location");

export function createEgress(policy: EgressPolicy, transport: typeof fetch = (input, init) => fetch(input, init)): Egress {
  return {
    policy,
    async fetch(input, init, request) {
      let url = new URL(input);
      for (let hop = 0; ; hop++) {
        await policy.check(url, request);
        // The check may have waited on DNS: a caller that gave up meanwhile sends nothing.
        init.signal?.throwIfAborted();
        const response = await transport(url.toString(), { ...init, redirect: "manual" });
        if (!isRedirect(response)) return capBody(response, request.kind, policy.settings.maxBytes[request.kind], redactUrl(url));
        await response.body?.cancel().catch(() => {});
        const method = (init.method ?? "GET").toUpperCase();
        if (request.carriesSecret || request.secretHosts) {
          throw new EgressError("redirect", `${request.kind} request to ${redactUrl(url)} answered ${response.status} (a redirect); a request carrying a secret never follows one`);
        }
        if (hop >= MAX_REDIRECTS || (method !== "GET" && method !== "HEAD")) {
          throw new EgressError("redirect", `${request.kind} request to ${redactUrl(url)} answered ${response.status}; not following (${hop >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects` : method})`);
        }
        url = new URL(response.headers.get("location")!, url);
      }
    },
  };
}

/** For a caller that brings its own `fetch` (a test double): caps and the redirect rule, no host rules. */
export const transportEgress = (transport: typeof fetch): Egress => createEgress(unrestrictedPolicy(), transport);
