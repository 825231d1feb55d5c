import { type AddressClass, classifyAddress } from "./addresses.ts";
import { EgressError, type EgressKind } from "./errors.ts";
import { redactUrl } from "./redact.ts";
import type { Resolver } from "./resolver.ts";

/** What one outgoing request is, as far as the policy cares. */
export interface EgressRequest {
  kind: EgressKind;
  /** The request carries a secret (a bearer, a client secret, a webhook path): https only, no redirects. */
  carriesSecret?: boolean;
  /**
   * Hosts that secret may go to, from the environment or code (never from a database row); the
   * request is refused for any other host. Omitted when the URL itself comes from the environment.
   */
  secretHosts?: readonly string[];
  /** Names the secret in a refusal ("credential feed", "PEAKWATCH_FEED_TOKEN_X"), never its value. */
  secretName?: string;
  /** Resolve the host and refuse non-public addresses: for URLs that come from a database row (feeds). */
  checkAddresses?: boolean;
}

export interface EgressSettings {
  /** `npm start` and the tests: plain http to loopback (where the stand-ins live) is allowed. */
  localDev: boolean;
  /** Hostnames or IP literals a feed may reach although they are or resolve to a non-public address. */
  allowPrivateHosts: readonly string[];
  maxBytes: Record<EgressKind, number>;
  resolver: Resolver;
}

export interface EgressPolicy {
  readonly settings: EgressSettings;
  /** Resolves when `url` may be sent `request`; throws EgressError (naming scheme://host only) when not. */
  check(url: URL, request: EgressRequest): Promise<void>;
}

export const DEFAULT_MAX_BYTES: Record<EgressKind, number> = {
  provider: 5_000_000,
  feed: 5_000_000,
  credential: 100_000,
  webhook: 64_000,
};

/** Hostname as compared against allow-lists: lowercase, IPv6 without brackets, no trailing dot. */
export function hostKey(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

function isLoopbackName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || classifyAddress(host) === "loopback";
}

export function createEgressPolicy(settings: EgressSettings): EgressPolicy {
  const allowedPrivate = new Set(settings.allowPrivateHosts.map(hostKey));
  const addressAllowed = (address: string, cls: AddressClass) =>
    cls === "public" || allowedPrivate.has(hostKey(address)) || (settings.localDev && cls === "loopback");

  return {
    settings,
    async check(url, request) {
      const host = hostKey(url.hostname);
      const where = redactUrl(url);
      const loopback = isLoopbackName(host);
      // A WebSocket (Tradovate market data) follows the same rules: wss like https, ws like http.
      const secure = url.protocol === "https:" || url.protocol === "wss:";
      const plain = url.protocol === "http:" || url.protocol === "ws:";
      if (!secure && !(plain && settings.localDev && loopback)) {
        throw new EgressError("scheme", `${request.kind} request to ${where} refused: only https/wss${settings.localDev ? " (or http/ws to loopback)" : ""} is allowed`);
      }
      if (url.username !== "" || url.password !== "") {
        throw new EgressError("scheme", `${request.kind} request to ${where} refused: a URL must not carry user:password`);
      }
      if (request.secretHosts) {
        const allowed = request.secretHosts.some((allowedHost) => hostKey(allowedHost) === host) || (settings.localDev && loopback);
        if (!allowed) {
          throw new EgressError("host_not_allowed", `${request.kind} request to ${where} refused: ${request.secretName ?? "its secret"} may only go to ${request.secretHosts.length > 0 ? request.secretHosts.join(", ") : "hosts listed in the environment (none are)"}`);
        }
      }
      if (!request.checkAddresses || allowedPrivate.has(host)) return;
      const literal = classifyAddress(host);
      let addresses: string[];
      if (literal !== null) addresses = [host];
      else {
        try {
          addresses = await settings.resolver(host);
        } catch (error) {
          throw new EgressError("dns", `${request.kind} request to ${where} refused: ${host} did not resolve (${error instanceof Error ? error.name : "error"})`);
        }
        if (addresses.length === 0) throw new EgressError("dns", `${request.kind} request to ${where} refused: ${host} has no address`);
      }
      for (const address of addresses) {
        const cls = classifyAddress(address) ?? "reserved";
        if (!addressAllowed(address, cls)) {
          throw new EgressError("private_address", `${request.kind} request to ${where} refused: ${literal !== null ? "it is" : `it resolves to`} a ${cls} address (allow it in PEAKWATCH_EGRESS_ALLOW_PRIVATE_HOSTS)`);
        }
      }
    },
  };
}

/** No host or address rules (a caller that brings its own transport, e.g. a test double); caps still apply. */
export function unrestrictedPolicy(maxBytes: Record<EgressKind, number> = DEFAULT_MAX_BYTES): EgressPolicy {
  return {
    settings: { localDev: true, allowPrivateHosts: [], maxBytes, resolver: () => Promise.resolve([]) },
    check: () => Promise.resolve(),
  };
}
