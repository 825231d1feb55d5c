import { withRetry } from "../limits/retry.ts";
import { logEvent } from "../log.ts";
import { type CredentialDefinition, secretVariable } from "./definitions.ts";
import { CredentialError, CredentialUpstreamError } from "./errors.ts";
import { requestOAuth2Token } from "./oauth2.ts";
import type { RefreshTokenVault } from "./refresh-tokens.ts";
import { tradovateAccessTokenRequest, tradovateRenew, type TradovateCall } from "./tradovate.ts";

export interface IssuedToken {
  accessToken: string;
  /** Tradovate's market-data token of the same session (same expiry); other strategies have none. */
  mdAccessToken?: string;
  expiresAt: number;
}

export interface IssueContext extends TradovateCall {
  now: () => number;
  refreshTokens: RefreshTokenVault;
}

/** The token being replaced, when there is one: Tradovate renews it instead of opening a new session. */
export interface PreviousToken {
  accessToken: string;
  mdAccessToken?: string;
  expiresAt: number;
}

/** A Tradovate token this close to expiry is not worth renewing: its renewal could arrive after it died. */
const RENEW_MIN_REMAINING_MS = 5_000;

/** One upstream exchange for a fresh access token, by the credential's strategy. */
export async function issueToken(definition: CredentialDefinition, previous: PreviousToken | null, context: IssueContext): Promise<IssuedToken> {
  switch (definition.strategy) {
    case "oauth2_client_credentials": {
      const { config } = definition;
      const grant: Record<string, string> = { grant_type: "client_credentials" };
      if (config.scope) grant.scope = config.scope;
      if (config.audience) grant.audience = config.audience;
      return await requestOAuth2Token(definition.name, config, grant, definition.secrets.clientSecret, context);
    }
    case "oauth2_refresh_token":
      return await refreshWithRotation(definition, context);
    case "tradovate": {
      const { name, config, secrets } = definition;
      if (previous && previous.expiresAt - context.now() > RENEW_MIN_REMAINING_MS) {
        const renewed = await tradovateRenew(name, config, previous.accessToken, context);
        // Tradovate documents the renewal answer without an mdAccessToken: renewal "extends the
        // current session", so the session's market-data token is carried forward with the new
        // expiry. Should Tradovate refuse it, the market-data client asks for a forced refresh,
        // which opens a new session (store.ts) and so gets a new one.
        if (renewed) return renewed.mdAccessToken || !previous.mdAccessToken ? renewed : { ...renewed, mdAccessToken: previous.mdAccessToken };
        logEvent("credentials.renewal_refused", { credential: name }, "warn");
      }
      return await tradovateAccessTokenRequest(name, config, secrets, context);
    }
  }
}

/**
 * Refresh-token grant with rotation. Ordering is what keeps the chain alive: the rotated refresh
 * token is written to Postgres (over the version it was made from) before the access token is
 * handed back to be cached, so a crash after that write loses at most an access token, which the
 * next refresh replaces. The one gap no client can close — dying between the server's answer and
 * that write — is bridged by servers' reuse interval (Auth0, Okta, Supabase Auth), within which the
 * stored, previous token is accepted again.
 */
async function refreshWithRotation(definition: Extract<CredentialDefinition, { strategy: "oauth2_refresh_token" }>, context: IssueContext): Promise<IssuedToken> {
  const { name, config, secrets } = definition;
  const link = await context.refreshTokens.current(name, secrets.refreshToken);
  const grant: Record<string, string> = { grant_type: "refresh_token", refresh_token: link.token.reveal() };
  if (config.scope) grant.scope = config.scope;
  let issued;
  try {
    issued = await requestOAuth2Token(name, config, grant, secrets.clientSecret, context);
  } catch (error) {
    if (error instanceof CredentialUpstreamError && error.kind === "rejected" && error.status === 400) {
      throw new CredentialUpstreamError(
        name,
        "rejected",
        `${error.detail}; if the refresh token was revoked or its chain lost, set a new ${secretVariable(name, "REFRESH_TOKEN")} to re-seed it`,
        error.status,
      );
    }
    throw error;
  }
  if (issued.refreshToken && issued.refreshToken !== link.token.reveal()) {
    const next = issued.refreshToken;
    const stored = await withRetry(() => context.refreshTokens.rotate(name, link.version, next), { retries: 3, baseMs: 100, capMs: 1_000, jitter: "equal" })
      .catch((error: unknown) => {
        logEvent("credentials.refresh_token_unsaved", { credential: name, error: error instanceof Error ? error.name : "unknown" }, "error");
        throw new CredentialError(name, `credential "${name}": the rotated refresh token could not be stored`, { cause: error });
      });
    // Someone rotated the same version first (a refresher whose lock had expired): theirs stays.
    if (!stored) logEvent("credentials.rotation_superseded", { credential: name, fromVersion: link.version }, "warn");
  }
  return { accessToken: issued.accessToken, expiresAt: issued.expiresAt };
}
