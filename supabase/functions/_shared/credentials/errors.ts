/**
 * The ways getting a token can fail. Every message is built here from names, HTTP statuses and
 * upstream error codes only — never from a secret, a token or a request body — so any of them can
 * be logged, returned and recorded in `runs` as is.
 */
export class CredentialError extends Error {
  constructor(
    readonly credential: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CredentialError";
  }
}

export class UnknownCredentialError extends CredentialError {
  constructor(credential: string, known: readonly string[], disabled = false) {
    const listed = known.length > 0 ? known.map((name) => `"${name}"`).join(", ") : "none";
    super(credential, disabled ? `credential "${credential}" is disabled` : `unknown credential "${credential}" (configured: ${listed})`);
    this.name = "UnknownCredentialError";
  }
}

export type UpstreamFailureKind =
  /** 5xx, timeout, network: likely to pass; the old token is kept while it is valid. */
  | "unavailable"
  /** The upstream refused what we sent (bad client, revoked refresh token, wrong password). */
  | "rejected"
  /** Tradovate time penalty longer than we may wait, or one that asks for a captcha. */
  | "penalty"
  /** The answer did not have the shape the upstream documents (or was over the size cap). */
  | "schema"
  /** Our egress policy refused the request: a host the credential does not allow, http, a redirect. */
  | "refused";

export class CredentialUpstreamError extends CredentialError {
  constructor(
    credential: string,
    readonly kind: UpstreamFailureKind,
    /** What happened, without the credential prefix. */
    readonly detail: string,
    readonly status: number | null = null,
    /** When the upstream said how long to wait (Retry-After, p-time, captcha hour). */
    readonly retryAfterMs: number | null = null,
    options?: ErrorOptions,
  ) {
    super(credential, `credential "${credential}": ${detail}`, options);
    this.name = "CredentialUpstreamError";
  }
}

/** Another instance is refreshing and did not finish within the caller's wait bound. */
export class CredentialWaitTimeoutError extends CredentialError {
  constructor(credential: string, waitedMs: number) {
    super(credential, `credential "${credential}": another instance is refreshing and no new token arrived within ${waitedMs} ms`);
    this.name = "CredentialWaitTimeoutError";
  }
}

/** A message safe to log or store: our own errors verbatim, anything else only by its name. */
export function safeErrorMessage(error: unknown): string {
  if (error instanceof CredentialError) return error.message;
  if (error instanceof Error && error.name === "RedisUnreachableError") return error.message;
  if (error instanceof Error && error.name === "ConfigError") return error.message;
  return error instanceof Error ? `unexpected ${error.name}` : "unexpected error";
}
