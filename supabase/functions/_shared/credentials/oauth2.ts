import { z } from "zod";
import type { ConfigOf } from "./definitions.ts";
import { CredentialUpstreamError } from "./errors.ts";
import { describeIssues, send, type UpstreamCall } from "./http.ts";
import type { Secret } from "./secret.ts";

/** RFC 6749 §5.1. Some servers send expires_in as a string ("3599"); both are read. */
export const oauth2TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().min(1).optional(),
  expires_in: z.coerce.number().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});

/** RFC 6749 §5.2. */
export const oauth2ErrorResponse = z.object({
  error: z.string().min(1).max(200),
});

export interface OAuth2Grant {
  accessToken: string;
  expiresAt: number;
  /** Present when the server rotated (or issued) a refresh token. */
  refreshToken?: string;
}

type OAuth2Config = ConfigOf<"oauth2_client_credentials"> | ConfigOf<"oauth2_refresh_token">;

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
function basicAuthorization(clientId: string, secret: string): string {
  // encodeURIComponent leaves only ASCII, which is what btoa takes.
  return `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}`;
}

/**
 * POSTs a token request (client credentials or refresh) and reads the answer. A 4xx is the server
 * refusing what we sent ("rejected", with its RFC 6749 error code); 5xx and 429 are "unavailable".
 */
export async function requestOAuth2Token(
  credential: string,
  config: OAuth2Config,
  grant: Record<string, string>,
  clientSecret: Secret | undefined,
  call: UpstreamCall & { now: () => number },
): Promise<OAuth2Grant> {
  const form = new URLSearchParams(grant);
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" };
  if (config.client_auth === "basic" && clientSecret) {
    headers.Authorization = basicAuthorization(config.client_id, clientSecret.reveal());
  } else {
    form.set("client_id", config.client_id);
    if (config.client_auth === "post" && clientSecret) form.set("client_secret", clientSecret.reveal());
  }

  const sentAt = call.now();
  const answer = await send(credential, config.token_url, { method: "POST", headers, body: form }, call);
  if (answer.status !== 200) {
    const code = oauth2ErrorResponse.safeParse(answer.json);
    const detail = code.success ? ` (${code.data.error})` : "";
    const kind = answer.status >= 500 || answer.status === 429 ? "unavailable" : "rejected";
    throw new CredentialUpstreamError(credential, kind, `token endpoint answered ${answer.status}${detail}`, answer.status, answer.retryAfterMs);
  }
  const parsed = oauth2TokenResponse.safeParse(answer.json);
  if (!parsed.success) {
    throw new CredentialUpstreamError(credential, "schema", `token response failed its schema: ${describeIssues(parsed.error.issues)}`, 200);
  }
  const lifetimeSeconds = parsed.data.expires_in ?? config.default_expires_in_seconds;
  if (lifetimeSeconds === undefined) {
    throw new CredentialUpstreamError(credential, "schema", "token response has no expires_in and the credential sets no default_expires_in_seconds", 200);
  }
  // Counted from when the request left, so the stored expiry is never later than the real one.
  return { accessToken: parsed.data.access_token, expiresAt: sentAt + lifetimeSeconds * 1000, refreshToken: parsed.data.refresh_token };
}
