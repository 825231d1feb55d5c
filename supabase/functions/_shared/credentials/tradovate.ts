import { z } from "zod";
import type { ConfigOf } from "./definitions.ts";
import { CredentialUpstreamError } from "./errors.ts";
import { describeIssues, send, type UpstreamAnswer, type UpstreamCall } from "./http.ts";
import type { Secret } from "./secret.ts";

/** `POST /auth/accesstokenrequest` and `GET /auth/renewaccesstoken` answer with this on success. */
export const tradovateTokenResponse = z.object({
  accessToken: z.string().min(1),
  /**
   * The market-data token of the same session: `accesstokenrequest` returns it beside the access
   * token (Tradovate's example and the recorded fixture); the documented `renewaccesstoken` answer
   * carries none.
   */
  mdAccessToken: z.string().min(1).optional(),
  expirationTime: z.iso.datetime({ offset: true }),
});

/**
 * Time penalty: HTTP 200 with `p-ticket`/`p-time` (seconds) instead of a token. Resend the same
 * body plus `"p-ticket"` after `p-time` seconds. `p-captcha: true` cannot be solved by a third-party
 * application; Tradovate tells it to try again in an hour.
 */
export const tradovatePenalty = z.object({
  "p-ticket": z.string().min(1),
  "p-time": z.number().min(0),
  "p-captcha": z.boolean().optional(),
});

/** Business errors come as HTTP 200 too, e.g. a wrong password. */
export const tradovateErrorText = z.object({ errorText: z.string().min(1) });

const MAX_PENALTY_ROUNDS = 3;
const CAPTCHA_RETRY_MS = 3_600_000;

export interface TradovateCall extends UpstreamCall {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Longest time penalty we wait out inside one refresh; a longer one fails the refresh instead. */
  maxPenaltyWaitMs: number;
  onPenalty?(waitMs: number): void;
}

export interface TradovateToken {
  accessToken: string;
  /** Same session, same expiry as the access token; absent when the answer had none. */
  mdAccessToken?: string;
  expiresAt: number;
}

type Config = ConfigOf<"tradovate">;

const jsonHeaders = { "Content-Type": "application/json", Accept: "application/json" };

type Reading = { kind: "token"; token: TradovateToken } | { kind: "penalty"; penalty: z.infer<typeof tradovatePenalty> } | { kind: "error"; errorText: string };

/**
 * Every 200 answer is one of three shapes. A token is looked for before `errorText`: Tradovate's
 * documented success examples carry a placeholder `errorText` beside the token.
 */
export function readTradovateAnswer(credential: string, json: unknown): Reading {
  const penalty = tradovatePenalty.safeParse(json);
  if (penalty.success) return { kind: "penalty", penalty: penalty.data };
  const token = tradovateTokenResponse.safeParse(json);
  if (token.success) {
    const { accessToken, mdAccessToken, expirationTime } = token.data;
    return { kind: "token", token: { accessToken, ...(mdAccessToken ? { mdAccessToken } : {}), expiresAt: Date.parse(expirationTime) } };
  }
  const error = tradovateErrorText.safeParse(json);
  if (error.success) return { kind: "error", errorText: error.data.errorText.slice(0, 200) };
  throw new CredentialUpstreamError(credential, "schema", `token response failed its schema: ${describeIssues(token.error.issues)}`, 200);
}

function failedStatus(credential: string, what: string, answer: UpstreamAnswer): CredentialUpstreamError {
  const kind = answer.status >= 500 || answer.status === 429 ? "unavailable" : "rejected";
  return new CredentialUpstreamError(credential, kind, `${what} answered ${answer.status}`, answer.status, answer.retryAfterMs);
}

/** A new session from name, password, app id, cid and sec (the API key), honouring time penalties. */
export async function tradovateAccessTokenRequest(
  credential: string,
  config: Config,
  secrets: { password: Secret; sec: Secret },
  call: TradovateCall,
): Promise<TradovateToken> {
  const body: Record<string, string | number> = {
    name: config.username,
    password: secrets.password.reveal(),
    appId: config.app_id,
    appVersion: config.app_version,
    cid: config.cid,
    sec: secrets.sec.reveal(),
    ...(config.device_id ? { deviceId: config.device_id } : {}),
  };
  for (let round = 0; ; round++) {
    const answer = await send(credential, `${config.base_url}/auth/accesstokenrequest`, { method: "POST", headers: jsonHeaders, body: JSON.stringify(body) }, call);
    if (answer.status !== 200) throw failedStatus(credential, "accesstokenrequest", answer);
    const reading = readTradovateAnswer(credential, answer.json);
    if (reading.kind === "token") return reading.token;
    if (reading.kind === "error") throw new CredentialUpstreamError(credential, "rejected", `accesstokenrequest refused: ${reading.errorText}`, 200);
    const { penalty } = reading;
    const waitMs = Math.ceil(penalty["p-time"] * 1000);
    if (penalty["p-captcha"]) {
      throw new CredentialUpstreamError(credential, "penalty", "time penalty with captcha: a third-party application cannot solve it; Tradovate asks to retry in an hour", 200, CAPTCHA_RETRY_MS);
    }
    if (waitMs > call.maxPenaltyWaitMs || round + 1 >= MAX_PENALTY_ROUNDS) {
      throw new CredentialUpstreamError(credential, "penalty", `time penalty of ${penalty["p-time"]} s (round ${round + 1}); not waiting it out here`, 200, waitMs);
    }
    call.onPenalty?.(waitMs);
    await call.sleep(waitMs, call.signal);
    body["p-ticket"] = penalty["p-ticket"];
  }
}

/**
 * Extends the session of a still-valid token (`GET /auth/renewaccesstoken` with the bearer, as
 * Tradovate documents it). Answers null when the token is no longer accepted, so the caller can
 * open a new session; throws when renewal is merely unavailable, so the old token is kept.
 */
export async function tradovateRenew(credential: string, config: Config, accessToken: string, call: UpstreamCall): Promise<TradovateToken | null> {
  const answer = await send(credential, `${config.base_url}/auth/renewaccesstoken`, {
    method: "GET",
    headers: { Accept: "application/json", Authorization: `Bearer ${accessToken}` },
  }, call);
  if (answer.status === 401 || answer.status === 403) return null;
  if (answer.status !== 200) throw failedStatus(credential, "renewaccesstoken", answer);
  const reading = readTradovateAnswer(credential, answer.json);
  if (reading.kind === "penalty") {
    throw new CredentialUpstreamError(credential, "penalty", "renewaccesstoken answered with a time penalty", 200, Math.ceil(reading.penalty["p-time"] * 1000));
  }
  return reading.kind === "token" ? reading.token : null;
}
