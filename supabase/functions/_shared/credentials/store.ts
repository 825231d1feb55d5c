import { egressOf } from "../egress/env.ts";
import type { Egress } from "../egress/fetch.ts";
import type { Redis } from "../limits/redis.ts";
import { sleep as defaultSleep } from "../limits/sleep.ts";
import { logEvent } from "../log.ts";
import type { CredentialConfig, CredentialDefinition, Strategy } from "./definitions.ts";
import { CredentialError, CredentialUpstreamError, CredentialWaitTimeoutError, safeErrorMessage } from "./errors.ts";
import type { RefreshTokenVault } from "./refresh-tokens.ts";
import type { CredentialRegistry } from "./registry.ts";
import { issueToken } from "./strategies.ts";
import { type CacheState, type StoredToken, type TokenCache, tokenCache } from "./token-cache.ts";

export interface CredentialStoreOptions {
  redis: Redis;
  registry: () => Promise<CredentialRegistry>;
  refreshTokens: RefreshTokenVault;
  /** Every instance sharing tokens (and the lock) must use the same prefix. */
  keyPrefix?: string;
  /** Refresh when less than this is left (capped at half the token's lifetime); a credential may set its own. */
  defaultMarginMs?: number;
  /** How long a caller waits for another instance's refresh before giving up (or using a still-valid old token). */
  waitMs?: number;
  requestTimeoutMs?: number;
  maxPenaltyWaitMs?: number;
  /** A token rejected less than this after it was issued is not refreshed again (a 401 storm must not become an auth storm). */
  forcedRefreshMinIntervalMs?: number;
  /** A transport of its own (a test double): egress host rules are then not applied, caps and no-redirect are. */
  fetch?: typeof fetch;
  /** Defaults to the isolate's egress. */
  egress?: Egress;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Redis keys (verbatim, no prefix) that also get a credential's access token, with a TTL equal
   * to its real expiry, for readers that already read e.g. `token:<ACCOUNT>` (PEAKWATCH_TOKEN_ALIASES).
   */
  aliases?: Readonly<Record<string, readonly string[]>>;
}

export interface GetTokenOptions {
  /** The token was rejected (a 401): refresh now, whatever its remaining lifetime. */
  forceRefresh?: boolean;
  /** The token that was rejected; when the cache already holds another one, that one is returned without a refresh. */
  rejected?: string;
  /** "md": the market-data token of the same Tradovate session (same expiry, refreshed with it). */
  kind?: TokenKind;
}

export type TokenKind = "access" | "md";

export interface CredentialCheck {
  name: string;
  strategy: Strategy;
  outcome: "fresh" | "refreshed" | "failed";
  /** The valid token's expiry after the check (the old one when a refresh failed); null when there is none. */
  expiresAt: number | null;
  secondsToExpiry: number | null;
  error?: string;
}

export interface CredentialStore {
  /** A valid access token for the named credential, refreshed ahead of expiry under a single-flight lock. */
  getToken(name: string, options?: GetTokenOptions): Promise<string>;
  /** When the current token (access and md alike) expires, epoch ms; null when none is cached. */
  expiresAt(name: string): Promise<number | null>;
  /**
   * Runs `use` with a token; on a 401 (a Response, or an error with status 401) refreshes once and
   * retries once. During a back-off after a failed refresh the forced refresh fails with that failure.
   */
  withToken<T>(name: string, use: (token: string) => Promise<T>): Promise<T>;
  /** Refreshes when due (or when forced, even during a back-off) and reports how it went; never throws for an upstream or Redis failure. */
  check(name: string, options?: { force?: boolean }): Promise<CredentialCheck>;
  names(): Promise<string[]>;
  /** Hosts the credential's token may be sent to (a feed using it is refused for any other). */
  allowedHosts(name: string): Promise<readonly string[]>;
  /** The credential's non-secret config (e.g. a Tradovate base_url for REST calls with its token). */
  config(name: string): Promise<CredentialConfig>;
}

type Outcome = { kind: "refreshed"; token: StoredToken } | { kind: "failed"; error: unknown };

/** A token this close to expiry is not handed out: the request it goes into would land after it died. */
const MIN_USABLE_MS = 1_000;
const POLL_START_MS = 20;
const POLL_MAX_MS = 250;

/**
 * After a failed refresh nobody asks the upstream again for a while — what it said (Retry-After,
 * p-time, a captcha's hour), else a few seconds for an outage and longer for a refusal, which a
 * retry will not mend (and Tradovate counts failed logins towards its penalties).
 */
export function backoffAfter(error: unknown): number {
  if (error instanceof CredentialUpstreamError) {
    if (error.retryAfterMs !== null) return Math.min(Math.max(error.retryAfterMs, 1_000), 3_600_000);
    return error.kind === "unavailable" ? 5_000 : 30_000;
  }
  return error instanceof CredentialWaitTimeoutError ? 0 : 5_000;
}

export function isUnauthorized(value: unknown): boolean {
  if (value instanceof Response) return value.status === 401;
  return typeof value === "object" && value !== null && (value as { status?: unknown }).status === 401;
}

export function createCredentialStore(options: CredentialStoreOptions): CredentialStore {
  const keyPrefix = options.keyPrefix ?? "peakwatch:";
  const defaultMarginMs = options.defaultMarginMs ?? 600_000;
  const waitMs = options.waitMs ?? 15_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const maxPenaltyWaitMs = options.maxPenaltyWaitMs ?? 30_000;
  const forcedMinIntervalMs = options.forcedRefreshMinIntervalMs ?? 10_000;
  // The lock outlives the longest refresh: a renewal, then up to three token requests with two penalty waits.
  const lockMs = requestTimeoutMs * 4 + maxPenaltyWaitMs * 2 + 5_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const egress = egressOf(options);

  const marginFor = (definition: CredentialDefinition, token: StoredToken) => {
    const configured = definition.config.refresh_margin_seconds;
    return Math.min(configured === undefined ? defaultMarginMs : configured * 1000, (token.expiresAt - token.issuedAt) / 2);
  };
  const isDue = (definition: CredentialDefinition, token: StoredToken) => token.expiresAt - now() <= marginFor(definition, token);
  const usable = (token: StoredToken | null): token is StoredToken => token !== null && token.expiresAt - now() > MIN_USABLE_MS;
  const cacheFor = (name: string) => tokenCache(options.redis, keyPrefix, name);
  const pick = (token: StoredToken | null, kind: TokenKind) => (token === null ? undefined : kind === "md" ? token.mdAccessToken : token.accessToken);

  /** Copies the access token to the credential's alias keys; a failure is logged and counted there, never fatal. */
  async function writeAliases(name: string, token: StoredToken): Promise<void> {
    const keys = options.aliases?.[name] ?? [];
    const ttlMs = Math.floor(token.expiresAt - now());
    if (keys.length === 0 || ttlMs <= 0) return;
    try {
      const batch = options.redis.multi();
      for (const key of keys) batch.set(key, token.accessToken, "PX", ttlMs);
      await batch.exec();
    } catch (error) {
      logEvent("credentials.alias_failed", { credential: name, keys, error: safeErrorMessage(error) }, "error");
    }
  }

  async function refreshHoldingLock(definition: CredentialDefinition, cache: TokenCache, seen: CacheState, force: boolean, newSession: boolean): Promise<Outcome> {
    const { token: current } = await cache.read();
    // Another instance may have finished between our read and our lock.
    if (current && current.id !== seen.token?.id && !isDue(definition, current) && !(newSession && !current.mdAccessToken)) return { kind: "refreshed", token: current };
    const startedAt = now();
    try {
      // A new session (no renewal) when a market-data token is wanted and the cached token has none.
      const issued = await issueToken(definition, newSession ? null : current, {
        egress,
        allowedHosts: definition.allowedHosts,
        timeoutMs: requestTimeoutMs,
        signal: AbortSignal.timeout(lockMs - 2_000),
        sleep,
        maxPenaltyWaitMs,
        now,
        refreshTokens: options.refreshTokens,
        onPenalty: (penaltyMs) => logEvent("credentials.penalty", { credential: definition.name, waitMs: penaltyMs }, "warn"),
      });
      if (issued.expiresAt - now() <= MIN_USABLE_MS) {
        throw new CredentialError(definition.name, `credential "${definition.name}": the upstream issued a token that is already expired`);
      }
      const carried = issued.mdAccessToken !== undefined && issued.mdAccessToken === current?.mdAccessToken;
      const token: StoredToken = {
        ...issued,
        issuedAt: startedAt,
        id: crypto.randomUUID(),
        ...(issued.mdAccessToken === undefined ? {} : { mdIssuedAt: carried ? (current?.mdIssuedAt ?? current?.issuedAt ?? startedAt) : startedAt }),
      };
      if (!(await cache.write(token, current?.id ?? null, now()))) {
        const { token: newer } = await cache.read();
        if (newer) return { kind: "refreshed", token: newer };
      }
      await writeAliases(definition.name, token);
      logEvent("credentials.refreshed", {
        credential: definition.name,
        strategy: definition.strategy,
        forced: force,
        withMdToken: token.mdAccessToken !== undefined,
        expiresInSeconds: Math.floor((token.expiresAt - now()) / 1000),
        durationMs: now() - startedAt,
      });
      return { kind: "refreshed", token };
    } catch (error) {
      const message = safeErrorMessage(error);
      await cache.fail({ id: crypto.randomUUID(), at: now(), message }, backoffAfter(error)).catch(() => {});
      logEvent("credentials.refresh_failed", { credential: definition.name, strategy: definition.strategy, error: message, keptValidToken: !force && usable(current) }, "error");
      return { kind: "failed", error };
    }
  }

  /** Polls until the lock holder leaves a new token or a failure; null when it vanished without either. */
  async function waitForHolder(name: string, cache: TokenCache, seen: CacheState, deadline: number): Promise<Outcome | null> {
    for (let delay = POLL_START_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
      const remaining = deadline - now();
      if (remaining <= 0) return { kind: "failed", error: new CredentialWaitTimeoutError(name, waitMs) };
      await sleep(Math.min(delay, remaining));
      const state = await cache.read();
      if (state.token && state.token.id !== seen.token?.id) return { kind: "refreshed", token: state.token };
      if (state.locked) continue;
      if (state.failure && state.failure.id !== seen.failure?.id) return { kind: "failed", error: new CredentialError(name, state.failure.message) };
      return null;
    }
  }

  /** Single flight: one caller per credential holds the lock and asks upstream; everyone else waits for its result. */
  async function refresh(definition: CredentialDefinition, cache: TokenCache, seen: CacheState, force: boolean, newSession = false): Promise<Outcome> {
    const deadline = now() + waitMs;
    for (;;) {
      const owner = crypto.randomUUID();
      if (await cache.lock(owner, lockMs)) {
        try {
          return await refreshHoldingLock(definition, cache, seen, force, newSession);
        } finally {
          // Should this fail, the lock simply runs out.
          await cache.unlock(owner).catch(() => {});
        }
      }
      const waited = await waitForHolder(definition.name, cache, seen, deadline);
      if (waited) return waited;
      // The holder crashed, or its lock ran out, without leaving a result: take over.
    }
  }

  const asCredentialError = (name: string, error: unknown) =>
    error instanceof CredentialError || (error instanceof Error && error.name === "RedisUnreachableError")
      ? error
      : new CredentialError(name, `credential "${name}": refresh failed (${safeErrorMessage(error)})`, { cause: error });

  const backingOff = (name: string, seen: CacheState) =>
    new CredentialError(name, `${seen.failure?.message ?? `credential "${name}": the last refresh failed`}; next attempt in ${Math.ceil(seen.backoffMs / 1000)} s`);

  async function getToken(name: string, { forceRefresh = false, rejected, kind = "access" }: GetTokenOptions = {}): Promise<string> {
    const definition = (await options.registry()).get(name);
    if (kind === "md" && definition.strategy !== "tradovate") throw new CredentialError(name, `credential "${name}": only a tradovate credential has a market-data token`);
    const cache = cacheFor(name);
    const seen = await cache.read();
    const cached = seen.token;
    const held = usable(cached) ? pick(cached, kind) : undefined;
    if (!forceRefresh && held !== undefined && !isDue(definition, cached!)) return held;
    if (seen.backoffMs > 0) {
      if (!forceRefresh && held !== undefined) return held;
      throw backingOff(name, seen);
    }
    if (forceRefresh && held !== undefined) {
      if (rejected !== undefined && held !== rejected) return held;
      // The age of the token that was refused: a renewal carries the md token forward, so it may be older than the access token.
      const issuedAt = kind === "md" ? (cached!.mdIssuedAt ?? cached!.issuedAt) : cached!.issuedAt;
      if (now() - issuedAt < forcedMinIntervalMs) {
        logEvent("credentials.forced_refresh_skipped", { credential: name, kind, tokenAgeMs: now() - issuedAt }, "warn");
        return held;
      }
    }
    // A market-data token that is missing, or was refused, comes from a new session: a renewal would only carry it forward.
    const outcome = await refresh(definition, cache, seen, forceRefresh, kind === "md" && (held === undefined || forceRefresh));
    if (outcome.kind === "refreshed") {
      const issued = pick(outcome.token, kind);
      if (issued !== undefined) return issued;
      throw new CredentialError(name, `credential "${name}": the upstream issued no market-data token (mdAccessToken); does the user have market data?`);
    }
    // Refresh-ahead failed: the old token is still good until it expires.
    if (!forceRefresh && held !== undefined) return held;
    throw asCredentialError(name, outcome.error);
  }

  async function withToken<T>(name: string, use: (token: string) => Promise<T>): Promise<T> {
    const token = await getToken(name);
    try {
      const result = await use(token);
      if (!isUnauthorized(result)) return result;
      if (result instanceof Response) await result.body?.cancel();
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
    }
    return await use(await getToken(name, { forceRefresh: true, rejected: token }));
  }

  async function check(name: string, { force = false }: { force?: boolean } = {}): Promise<CredentialCheck> {
    const definition = (await options.registry()).get(name);
    const report = (outcome: CredentialCheck["outcome"], token: StoredToken | null, error?: unknown): CredentialCheck => ({
      name,
      strategy: definition.strategy,
      outcome,
      expiresAt: token?.expiresAt ?? null,
      secondsToExpiry: token ? Math.max(0, Math.floor((token.expiresAt - now()) / 1000)) : null,
      ...(error === undefined ? {} : { error: safeErrorMessage(error) }),
    });
    let seen: CacheState | undefined;
    try {
      const cache = cacheFor(name);
      seen = await cache.read();
      if (!force && usable(seen.token) && !isDue(definition, seen.token)) {
        // Re-asserted every run: an alias configured later, or lost with Redis, comes back.
        await writeAliases(name, seen.token);
        return report("fresh", seen.token);
      }
      if (!force && seen.backoffMs > 0) return report("failed", usable(seen.token) ? seen.token : null, backingOff(name, seen));
      const outcome = await refresh(definition, cache, seen, force);
      if (outcome.kind === "refreshed") return report("refreshed", outcome.token);
      return report("failed", usable(seen.token) ? seen.token : null, outcome.error);
    } catch (error) {
      return report("failed", seen && usable(seen.token) ? seen.token : null, error);
    }
  }

  return {
    getToken,
    async expiresAt(name) {
      const { token } = await cacheFor(name).read();
      return usable(token) ? token.expiresAt : null;
    },
    withToken,
    check,
    names: async () => (await options.registry()).names(),
    allowedHosts: async (name) => (await options.registry()).get(name).allowedHosts,
    config: async (name) => (await options.registry()).get(name).config,
  };
}
