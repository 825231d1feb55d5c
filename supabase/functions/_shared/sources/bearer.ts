import { readEnv } from "../config/env.ts";
import { hostsFrom } from "../egress/env.ts";
import { SourceConfigError } from "./types.ts";

/** Names a feed's config may give in `tokenEnv`: a dedicated prefix, so a source row can never send another secret (the service key) to its URL. */
export const FEED_TOKEN_ENV = /^PEAKWATCH_FEED_TOKEN_[A-Z0-9_]{1,64}$/;

/** What an http_feed source says about its bearer token. */
export interface FeedAuth {
  source: string;
  /** Environment variable holding a static token. */
  tokenEnv?: string;
  /** Name of a credential in the store (token-refresh); its access token is renewed ahead of expiry. */
  credential?: string;
}

/** Where an http_feed's bearer token comes from: a static token from the environment, or the credential store. */
export interface BearerSource {
  /**
   * The token to send, or null to send none. `refresh`: the feed just answered 401 to `rejected` —
   * a store may renew it once (or hand out a newer one it already has); a static token cannot.
   */
  token(auth: FeedAuth, options?: { refresh?: boolean; rejected?: string }): Promise<string | null>;
  /**
   * Hosts the token may be sent to, from the environment or code: the feed URL comes from a
   * database row, so it alone must never decide where a secret goes.
   */
  allowedHosts?(auth: FeedAuth): Promise<readonly string[]>;
}

/** PEAKWATCH_FEED_TOKEN_<X>_HOSTS: where the static token in PEAKWATCH_FEED_TOKEN_<X> may go. */
export const feedTokenHostsVariable = (tokenEnv: string) => `${tokenEnv}_HOSTS`;

export function envBearerSource(read: (name: string) => string | undefined = readEnv): BearerSource {
  return {
    token(auth) {
      if (auth.tokenEnv === undefined) return Promise.resolve(null);
      const value = read(auth.tokenEnv)?.trim();
      if (!value) return Promise.reject(new SourceConfigError(`${auth.tokenEnv} is not set (bearer token of source ${auth.source})`));
      return Promise.resolve(value);
    },
    allowedHosts: (auth) => Promise.resolve(auth.tokenEnv === undefined ? [] : hostsFrom(read, feedTokenHostsVariable(auth.tokenEnv))),
  };
}

/** Tokens of `credential` sources come from the store (one forced renewal on a 401); the rest from `fallback`. */
export function credentialBearerSource(
  store: {
    getToken(name: string, options?: { forceRefresh?: boolean; rejected?: string }): Promise<string>;
    allowedHosts(name: string): Promise<readonly string[]>;
  },
  fallback: BearerSource = envBearerSource(),
): BearerSource {
  return {
    token(auth, options = {}) {
      if (auth.credential === undefined) return fallback.token(auth, options);
      return store.getToken(auth.credential, options.refresh ? { forceRefresh: true, rejected: options.rejected } : {});
    },
    allowedHosts(auth) {
      if (auth.credential === undefined) return fallback.allowedHosts?.(auth) ?? Promise.resolve([]);
      return store.allowedHosts(auth.credential);
    },
  };
}
