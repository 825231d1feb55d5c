import type { TradingCalendar } from "../../candles/calendar.ts";
import type { BarPage, BarRequest, CandleProvider } from "../../candles/provider.ts";
import type { Timeframe } from "../../candles/timeframes.ts";
import type { CredentialStore } from "../../credentials/store.ts";
import { egressOf } from "../../egress/env.ts";
import type { Egress } from "../../egress/fetch.ts";
import { redactText } from "../../egress/redact.ts";
import type { Redis } from "../../limits/redis.ts";
import { logEvent } from "../../log.ts";
import { type ContractMonth, resolveContract } from "./contracts.ts";
import { pageOfChart } from "./bars.ts";
import type { GetChartBody } from "./frames.ts";
import { type MdSession, MdSessionError, openMdSession, type OpenSocket, globalSocket } from "./session.ts";
import { acquireSocketLock } from "./socket-lock.ts";

/** Tradovate's market-data WebSocket (live and demo accounts alike). */
export const TRADOVATE_MD_URL = "wss://md.tradovateapi.com/v1/websocket";

/**
 * Minute bars whose buckets line up with peakwatch's UTC buckets: every size here divides the hour,
 * and CME sessions open on the hour. 4h and daily bars follow CME's trade date instead, so they are
 * not offered.
 */
const ELEMENT_MINUTES: Partial<Record<Timeframe, number>> = { "1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60 };

export interface TradovateProviderOptions {
  /** The tradovate credential whose mdAccessToken opens the socket (one account = one socket at a time). */
  credential: string;
  store: Pick<CredentialStore, "getToken" | "allowedHosts">;
  /** REST base of the credential, including /v1 (contract lookups). */
  restBaseUrl: string;
  mdUrl?: string;
  redis: Redis;
  keyPrefix: string;
  /** cme_globex with its holiday rows: which buckets to expect, so interior no-trade buckets are filled. */
  calendar: TradingCalendar;
  openSocket?: OpenSocket;
  egress?: Egress;
  now?: () => number;
  lockTtlMs?: number;
  lockWaitMs?: number;
  /** New sessions after a dropped socket (or a timeout) within one fetch. */
  maxSessionRetries?: number;
  eohTimeoutMs?: number;
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  /**
   * The collector asks stream by stream; the session (and the account's socket lock) stays open this
   * long after a fetch, so the streams of one invocation share it, then closes. 0: close at once.
   */
  sessionIdleMs?: number;
  /** Told the contract month each product resolved to (the candles deps write instruments.contract). */
  onContract?: (symbol: string, month: ContractMonth) => Promise<void>;
}

export interface TradovateProviderStats {
  sessions: number;
  /** Sessions that ended before their work was done (dropped socket, server close, timeout). */
  socketDrops: number;
  /** New sessions opened to finish the work of a dropped one. */
  retries: number;
  /** `authorize` refusals (expired or revoked md token), each followed by a forced token refresh. */
  unauthorized: number;
  charts: number;
  bars: number;
  /** Interior buckets the calendar expects but Tradovate sent no bar for (no trades): stored as synthetic. */
  syntheticFilled: number;
  rejectedBars: number;
  cancelRefusals: number;
  lockWaitedMs: number;
  lockBusy: number;
}

export const TRADOVATE_COUNTERS_KEY = "tradovate:md:counters";

export interface TradovateBarProvider extends CandleProvider {
  stats(): TradovateProviderStats;
  /** The contract month each product resolved to in the last fetch, with its roll time. */
  contracts(): ContractMonth[];
  /** Closes the session and frees the account's socket now (else it closes after `sessionIdleMs`). */
  close(): Promise<void>;
}

type Failure = Extract<BarPage, { ok: false }>;
const failure = (kind: string, message: string, coverage: Failure["coverage"] = null): Failure => ({ ok: false, kind, message: redactText(message), coverage });

export function createTradovateBarProvider(options: TradovateProviderOptions): TradovateBarProvider {
  const now = options.now ?? Date.now;
  const egress = egressOf(options);
  const openSocket = options.openSocket ?? globalSocket;
  const mdUrl = options.mdUrl ?? TRADOVATE_MD_URL;
  const maxRetries = options.maxSessionRetries ?? 2;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const stats: TradovateProviderStats = {
    sessions: 0,
    socketDrops: 0,
    retries: 0,
    unauthorized: 0,
    charts: 0,
    bars: 0,
    syntheticFilled: 0,
    rejectedBars: 0,
    cancelRefusals: 0,
    lockWaitedMs: 0,
    lockBusy: 0,
  };
  const resolved = new Map<string, ContractMonth>();
  const lastContract = new Map<string, string>();
  const countersKey = `${options.keyPrefix}${TRADOVATE_COUNTERS_KEY}`;

  /** Durable, shared counters (health and drills read them); a Redis hiccup never fails a fetch. */
  const count = (field: keyof TradovateProviderStats, by = 1) => {
    stats[field] += by;
    if (by > 0) options.redis.hincrby(countersKey, field, by).catch(() => {});
  };

  async function contractFor(symbol: string, signal: AbortSignal, allowedHosts: readonly string[]): Promise<ContractMonth> {
    const known = resolved.get(symbol);
    if (known && (known.rollAt === null || known.rollAt.getTime() > now())) return known;
    const month = await resolveContract(symbol, new Date(now()), {
      restBaseUrl: options.restBaseUrl,
      accessToken: () => options.store.getToken(options.credential),
      egress,
      allowedHosts,
      signal,
    });
    resolved.set(symbol, month);
    // The roll is visible: logged when it happens and kept in Redis for the status page and drills.
    const previous = lastContract.get(symbol) ?? (await options.redis.hget(`${options.keyPrefix}tradovate:contracts`, symbol).catch(() => null));
    const current = JSON.stringify({ contract: month.contract, rollAt: month.rollAt?.toISOString() ?? null, next: month.next, source: month.source });
    if (previous !== current) {
      const before = previous ? (JSON.parse(previous) as { contract?: string }).contract : null;
      if (before && before !== month.contract) logEvent("tradovate.contract_rolled", { product: symbol, from: before, to: month.contract });
      await options.redis.hset(`${options.keyPrefix}tradovate:contracts`, symbol, current).catch(() => {});
    }
    if (lastContract.get(symbol) !== current) await options.onContract?.(symbol, month).catch(() => {});
    lastContract.set(symbol, current);
    return month;
  }

  async function fetchOne(session: MdSession, request: BarRequest, signal: AbortSignal, allowedHosts: readonly string[], eohTimeoutMs: number): Promise<BarPage> {
    const elementSize = ELEMENT_MINUTES[request.timeframe];
    if (elementSize === undefined) return failure("unsupported_timeframe", `Tradovate bars are not offered for ${request.timeframe}`, "not_on_provider");
    let month: ContractMonth;
    try {
      month = await contractFor(request.symbol, signal, allowedHosts);
    } catch (error) {
      return failure("contract_lookup", `contract for ${request.symbol}: ${error instanceof Error ? error.message : "lookup failed"}`);
    }
    const body: GetChartBody = {
      symbol: month.contract,
      chartDescription: { underlyingType: "MinuteBar", elementSize, elementSizeUnit: "UnderlyingUnits", withHistogram: false },
      timeRange: {
        closestTimestamp: request.to.toISOString(),
        ...(request.from ? { asFarAsTimestamp: request.from.toISOString() } : {}),
        asMuchAsElements: request.limit,
      },
    };
    let chart;
    try {
      chart = await session.getChart(body, eohTimeoutMs);
    } catch (error) {
      if (error instanceof MdSessionError && error.kind === "rejected") return failure("provider_refused", error.message, "provider_refused");
      throw error;
    }
    count("charts");
    count("bars", chart.bars.length);
    if (chart.rejected > 0) count("rejectedBars", chart.rejected);
    // Tradovate's reference cancels the real-time subscription by realtimeId; the issue names the
    // historical id. Both are cancelled, so whichever the server holds is released before we close.
    for (const subscriptionId of [chart.realtimeId, chart.historicalId]) {
      try {
        if ((await session.cancelChart(subscriptionId)) !== 200) count("cancelRefusals");
      } catch (error) {
        if (error instanceof MdSessionError && error.kind === "dropped") break;
        count("cancelRefusals");
      }
    }
    if (chart.rejected > 0 && chart.bars.length === 0) return failure("schema_drift", `${chart.rejected} chart bars failed their schema`);
    const page = pageOfChart(request, chart.bars, options.calendar);
    if (page.ok) count("syntheticFilled", page.bars.filter((bar) => bar.synthetic).length);
    return page;
  }

  /** The open session of this provider (one isolate) and the account's socket lock it holds. */
  interface Held {
    session: MdSession | null;
    release(): Promise<void>;
    renewal: ReturnType<typeof setInterval>;
  }
  let active: Held | null = null;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function closeActive(): Promise<void> {
    clearTimeout(idleTimer);
    const current = active;
    active = null;
    if (!current) return;
    clearInterval(current.renewal);
    current.session?.close();
    await current.release();
  }

  /** The account's socket lock, held by this provider until it closes; null when another holder keeps it. */
  async function holdLock(signal: AbortSignal): Promise<Held | null> {
    if (active) return active;
    const held = await acquireSocketLock(options.redis, `${options.keyPrefix}tradovate:md-socket:${options.credential}`, {
      ttlMs: lockTtlMs,
      waitMs: options.lockWaitMs ?? 15_000,
      signal,
    });
    if (!held) return null;
    count("lockWaitedMs", held.waitedMs);
    const entry: Held = {
      session: null,
      release: held.lock.release,
      renewal: setInterval(() => {
        held.lock.renew().then((kept) => {
          // Lost (a pause longer than the lease): another isolate may open a socket now, so ours goes.
          if (!kept && active === entry) {
            logEvent("tradovate.socket_lock_lost", { credential: options.credential }, "warn");
            void closeActive();
          }
        }, () => {});
      }, Math.max(1_000, Math.floor(lockTtlMs / 3))),
    };
    active = entry;
    return entry;
  }

  async function fetchLocked(requests: BarRequest[], signal: AbortSignal): Promise<BarPage[]> {
    clearTimeout(idleTimer);
    const results: (BarPage | undefined)[] = requests.map((request) =>
      ELEMENT_MINUTES[request.timeframe] === undefined ? failure("unsupported_timeframe", `Tradovate bars are not offered for ${request.timeframe}`, "not_on_provider") : undefined,
    );
    let remaining = results.flatMap((result, index) => (result === undefined ? [index] : []));
    if (remaining.length === 0) return results as BarPage[];

    const held = await holdLock(signal);
    if (!held) {
      count("lockBusy");
      // "budget": the collector hands the stream back for a moment instead of counting a failure.
      for (const index of remaining) results[index] = failure("budget", `another session holds the market-data socket of credential "${options.credential}"`);
      return results as BarPage[];
    }
    try {
      const allowedHosts = await options.store.allowedHosts(options.credential);
      await egress.policy.check(new URL(mdUrl), { kind: "provider", carriesSecret: true, secretHosts: allowedHosts, secretName: `credential "${options.credential}" (market data)` });
      let attempts = 0;
      let rejectedToken: string | undefined;
      while (remaining.length > 0) {
        let token = "";
        try {
          if (!held.session?.alive) {
            held.session?.close();
            held.session = null;
            token = await options.store.getToken(options.credential, rejectedToken === undefined ? { kind: "md" } : { kind: "md", forceRefresh: true, rejected: rejectedToken });
            count("sessions");
            held.session = await openMdSession({
              url: mdUrl,
              token,
              openSocket,
              signal,
              heartbeatMs: options.heartbeatMs,
              requestTimeoutMs: options.requestTimeoutMs,
              maxFrameChars: egress.policy.settings.maxBytes.provider,
            });
          }
          for (const index of [...remaining]) {
            results[index] = await fetchOne(held.session, requests[index]!, signal, allowedHosts, options.eohTimeoutMs ?? 20_000);
            remaining = remaining.filter((other) => other !== index);
          }
        } catch (error) {
          held.session?.close();
          held.session = null;
          const kind = error instanceof MdSessionError ? error.kind : null;
          if (kind === "unauthorized" && rejectedToken === undefined) {
            // An expired or revoked md token: refresh it once (single flight) and open a new session.
            count("unauthorized");
            logEvent("tradovate.md_unauthorized", { credential: options.credential }, "warn");
            rejectedToken = token;
            continue;
          }
          const retryable = (kind === "dropped" || kind === "timeout") && !signal.aborted;
          if (retryable) count("socketDrops");
          logEvent("tradovate.session_failed", { credential: options.credential, kind: kind ?? "error", remaining: remaining.length, attempt: attempts + 1, error: redactText(error instanceof Error ? error.message : String(error)) }, "warn");
          if (retryable && attempts < maxRetries) {
            attempts += 1;
            count("retries");
            continue;
          }
          const message = error instanceof Error ? error.message : String(error);
          const label = kind === "unauthorized" ? "unauthorized" : kind === "dropped" ? "socket_dropped" : (kind ?? (error instanceof Error && error.name.startsWith("Credential") ? "credential" : "upstream"));
          for (const index of remaining) results[index] = failure(label, message);
          remaining = [];
        }
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const index of remaining) results[index] = failure(error instanceof Error && error.name === "EgressError" ? "egress_refused" : "upstream", message);
    } finally {
      const idleMs = options.sessionIdleMs ?? 1_500;
      if (idleMs <= 0 || !active?.session?.alive) await closeActive();
      else idleTimer = setTimeout(() => void closeActive(), idleMs);
    }
    return results as BarPage[];
  }

  /** One fetch at a time per provider: they share its session. */
  function fetchBars(requests: BarRequest[], signal: AbortSignal): Promise<BarPage[]> {
    const run = queue.then(() => fetchLocked(requests, signal));
    queue = run.catch(() => {});
    return run;
  }

  return {
    name: "tradovate",
    supports: (timeframe) => ELEMENT_MINUTES[timeframe] !== undefined,
    fetchBars,
    stats: () => ({ ...stats }),
    contracts: () => [...resolved.values()],
    close: () => queue.then(closeActive),
  };
}
