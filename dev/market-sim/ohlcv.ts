/**
 * GeckoTerminal pool OHLCV from the simulator's own random walk, so candles and spot prices agree:
 * from simulator start on, a bar's prices are the spot prices the other endpoints serve (Market,
 * 15 s steps); before it, the same walk continues backwards in 1-minute steps, with quiet minutes
 * (no trades: the price holds, volume 0) so `include_empty_intervals` has something to fill.
 * Pools have a creation time (most are a year old, some only days) and history is served for
 * 180 days, as GeckoTerminal does.
 */
import type { World } from "./answers.ts";
import { jsonApiError } from "./answers.ts";
import { STEP_MS } from "./market.ts";
import { gaussian, hash32, mulberry32, streamFor } from "./prng.ts";
import { QUOTE_ASSETS, type SimPair, type SimToken } from "./universe.ts";
import { toGeckoNetwork } from "../../supabase/functions/_shared/providers/geckoterminal.ts";
import { sameAddress } from "../../supabase/functions/_shared/providers/quote-checks.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
export const HISTORY_WINDOW_MS = 180 * DAY;
export const MAX_OHLCV_LIMIT = 1000;
const UNITS = { minute: { ms: MINUTE, aggregates: [1, 5, 15] }, hour: { ms: 3_600_000, aggregates: [1, 4, 12] }, day: { ms: DAY, aggregates: [1] } } as const;

export type OhlcvFault = "gaps" | "revised_bar" | null;

/** Counter-based draws: a minute's numbers never depend on which minutes were asked for before. */
const draw = (seed: number, ...labels: Array<string | number>) => mulberry32(hash32(`${seed}:${labels.join(":")}`));

export class OhlcvHistory {
  readonly #seed: number;
  /** Per token: cumulative log-return going back, back[k] = log P(-k min) - log P(0). */
  readonly #back = new Map<number, Float64Array>();
  readonly #filled = new Map<number, number>();

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** When the pool's history starts, in simulator time (ms, ≤ 0 for pools older than the simulator). */
  bornAt(token: SimToken): number {
    if (token.listAtMs > 0) return token.listAtMs;
    const rng = streamFor(this.#seed, "pool-age", token.index);
    const young = rng() < 0.2;
    return -Math.round((young ? 3 + rng() * 22 : 365) * DAY);
  }

  /** A wall-clock minute with no swaps (history before the simulator's first minute only): price holds, volume 0. */
  quiet(token: SimToken, minute: number, epochMinute: number): boolean {
    return minute < epochMinute && draw(this.#seed, "quiet", token.index, minute)() < 0.03 + (token.index % 4) * 0.02;
  }

  /** Price at wall-clock `at` before the simulator started; `spotAtZero` is the Market's first price. */
  priceBefore(token: SimToken, at: number, epochMs: number, spotAtZero: number): number {
    const epochMinute = Math.floor(epochMs / MINUTE);
    const k = epochMinute - Math.floor(at / MINUTE);
    return k <= 0 ? spotAtZero : spotAtZero * Math.exp(this.#cumulative(token, k, epochMinute));
  }

  #cumulative(token: SimToken, k: number, epochMinute: number): number {
    let back = this.#back.get(token.index);
    let filled = this.#filled.get(token.index) ?? 0;
    if (!back || back.length <= k) {
      const grown = new Float64Array(Math.max(k + 1, (back?.length ?? 0) * 2, 1024));
      if (back) grown.set(back);
      back = grown;
      this.#back.set(token.index, back);
    }
    // back[j]: log price j minutes before the first minute. A quiet minute keeps the price of the minute before it.
    for (; filled < k; filled++) {
      const j = filled + 1;
      const step = this.quiet(token, epochMinute - j + 1, epochMinute) ? 0 : token.volatility * 2 * gaussian(draw(this.#seed, "back", token.index, epochMinute - j));
      back[j] = back[filled]! - step;
    }
    this.#filled.set(token.index, Math.max(filled, this.#filled.get(token.index) ?? 0));
    return back[k]!;
  }
}

interface PoolSide {
  token: SimToken;
  pair: SimPair;
  /** True when the side asked for is the simulated token (its walk); false: the pair's counter asset. */
  walks: boolean;
  counterUsd: number;
}

function findPool(world: World, network: string, pool: string, side: string): PoolSide | null {
  for (const token of world.tokens) {
    if (toGeckoNetwork(token.chain) !== network) continue;
    const pair = token.pairs.find((p) => sameAddress(p.pairAddress, pool));
    if (!pair) continue;
    const quoteOnly = token.kind === "quote_only";
    const ours = side === "base" ? !quoteOnly : side === "quote" ? quoteOnly : sameAddress(side, token.address);
    if (!ours && side !== "base" && side !== "quote" && !sameAddress(side, pair.counter.address)) return null;
    return { token, pair, walks: ours, counterUsd: pair.counter.priceUsd };
  }
  return null;
}

export interface OhlcvQuery {
  network: string;
  pool: string;
  unit: string;
  params: URLSearchParams;
}

/** The answer of `GET /networks/{network}/pools/{pool}/ohlcv/{unit}` at simulator time `elapsedMs`. */
export function geckoOhlcv(world: World, history: OhlcvHistory, query: OhlcvQuery, elapsedMs: number, fault: OhlcvFault, faultRng: () => number): { status: number; body: unknown } {
  const unit = UNITS[query.unit as keyof typeof UNITS];
  if (!unit) return jsonApiError(400, "Invalid timeframe");
  const aggregate = Number(query.params.get("aggregate") ?? "1");
  if (!(unit.aggregates as readonly number[]).includes(aggregate)) return jsonApiError(400, "Invalid aggregate");
  const limit = Number(query.params.get("limit") ?? "100");
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_OHLCV_LIMIT) return jsonApiError(400, "Invalid limit");
  if (!Object.keys(QUOTE_ASSETS).some((chain) => toGeckoNetwork(chain) === query.network)) return jsonApiError(404, "Specified network not found");
  const side = query.params.get("token") ?? "base";
  const pool = findPool(world, query.network, query.pool, side);
  if (!pool) return jsonApiError(404, "Pool not found");

  const size = unit.ms * aggregate;
  const nowMs = world.epochMs + elapsedMs;
  const beforeParam = query.params.get("before_timestamp");
  const before = Math.min(nowMs + 1, beforeParam ? Number(beforeParam) * 1000 : nowMs + 1);
  const windowStart = nowMs - HISTORY_WINDOW_MS;
  const born = world.epochMs + history.bornAt(pool.token);
  const includeEmpty = query.params.get("include_empty_intervals") === "true";

  const rows: number[][] = [];
  // Newest first: the bucket holding `before - 1`, then back, while the pool existed and inside the window.
  const first = Math.ceil(born / size) * size;
  for (let start = Math.floor((before - 1) / size) * size; rows.length < limit && start >= windowStart && start >= first && born <= nowMs; start -= size) {
    const bar = barAt(world, history, pool, start, size, nowMs);
    if (bar.volume === 0 && !includeEmpty) continue;
    if (fault === "gaps" && faultRng() < 0.3) continue;
    if (fault === "revised_bar" && start + size <= nowMs && Math.floor(start / size) % 7 === 3) {
      bar.close *= 1.01;
      bar.high = Math.max(bar.high, bar.close);
      bar.volume *= 1.5;
    }
    rows.push([start / 1000, bar.open, bar.high, bar.low, bar.close, bar.volume]);
  }
  const base = pool.token.kind === "quote_only" ? pool.pair.counter : pool.token;
  const quote = pool.token.kind === "quote_only" ? pool.token : pool.pair.counter;
  return {
    status: 200,
    body: {
      data: { id: crypto.randomUUID(), type: "ohlcv_request_response", attributes: { ohlcv_list: rows } },
      meta: {
        base: { address: base.address, name: base.name, symbol: base.symbol, coingecko_coin_id: null },
        quote: { address: quote.address, name: quote.name, symbol: quote.symbol, coingecko_coin_id: null },
      },
    },
  };
}

/**
 * One bar: open = the price just before the bucket (the previous close), close = the price at its
 * end (or now, for the forming bar), high/low over every walk step inside. Volume per minute from
 * the pool's liquidity; a quiet minute adds none.
 */
function barAt(world: World, history: OhlcvHistory, pool: PoolSide, start: number, size: number, nowMs: number) {
  const token = pool.token;
  const spotAtZero = world.market.priceAt(token, 0);
  const price = (at: number) => {
    if (!pool.walks) return pool.counterUsd;
    const elapsed = at - world.epochMs;
    return elapsed >= 0 ? world.market.priceAt(token, elapsed) : history.priceBefore(token, at, world.epochMs, spotAtZero);
  };
  const end = Math.min(start + size, nowMs + 1);
  const open = price(start - 1);
  let high = open;
  let low = open;
  let close = open;
  let volume = 0;
  // Every walk step inside the bar (15 s since the start, 1 min before it), and the price at its last instant.
  for (let at = start; ; at += at >= world.epochMs ? STEP_MS : MINUTE) {
    const last = at >= end - 1;
    close = price(last ? end - 1 : at);
    high = Math.max(high, close);
    low = Math.min(low, close);
    if (last) break;
  }
  const epochMinute = Math.floor(world.epochMs / MINUTE);
  for (let minute = Math.floor(start / MINUTE); minute * MINUTE < end; minute++) {
    if (history.quiet(token, minute, epochMinute)) continue;
    volume += 50 + draw(0, "vol", token.index, minute)() * 500 * (1 + (token.index % 5));
  }
  if (volume === 0) return { open, high: open, low: open, close: open, volume: 0 };
  return { open, high, low, close, volume };
}
