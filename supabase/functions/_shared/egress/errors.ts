/** The kinds of upstream a request goes to; each has its own answer-size cap. */
export type EgressKind = "provider" | "feed" | "credential" | "webhook";

export type EgressRefusal =
  /** Not https (and not loopback http in local dev). */
  | "scheme"
  /** A secret for a host its credential does not allow. */
  | "host_not_allowed"
  /** The host is, or resolves to, a private, loopback, link-local or unspecified address. */
  | "private_address"
  | "dns"
  /** A request carrying a secret was answered with a redirect, or redirects went on too long. */
  | "redirect"
  | "too_large";

/** The egress policy refused a request or its answer. The message names scheme://host only. */
export class EgressError extends Error {
  override name = "EgressError";
  constructor(
    readonly reason: EgressRefusal,
    message: string,
    /** The upstream's HTTP status, when an answer came (a too-large one). */
    readonly status: number | null = null,
  ) {
    super(message);
  }
}
