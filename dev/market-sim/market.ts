import { gaussian, type Rng, streamFor } from "./prng.ts";
import type { SimToken } from "./universe.ts";

/** Prices move in steps of this much simulated time; between steps they hold. */
export const STEP_MS = 15_000;
const RUG_PRICE_FACTOR = 0.002;
const PUMP_RAMP_STEPS = 4;
const HOUR_MS = 3_600_000;

export interface Snapshot {
  listed: boolean;
  priceUsd: number;
  liquidityUsd: number;
  marketCapUsd: number;
  fdvUsd: number;
  volume24hUsd: number;
  priceChangeH1Pct: number;
  priceChangeH24Pct: number;
}

/**
 * Injected price events (issue 17). A spike multiplies the price for a while: spot and candles
 * both see it, so a spike during a tracker outage is a peak only candles can recover. A wick is one
 * trade in one minute at `factor` × the price: it shows in that minute's OHLCV high and nowhere
 * else, the wick between two tracker samples.
 */
export interface PriceEvent {
  kind: "spike" | "wick";
  tokenIndex: number;
  /** Simulator elapsed time. */
  fromMs: number;
  toMs: number;
  factor: number;
}

/** The state of every token as a pure function of (seed, token, elapsed time, injected events). */
export class Market {
  readonly #seed: number;
  readonly #walks = new Map<number, { rng: Rng; cumulative: number[] }>();
  readonly #events: PriceEvent[] = [];

  constructor(seed: number) {
    this.#seed = seed;
  }

  snapshot(token: SimToken, elapsedMs: number): Snapshot {
    const priceUsd = this.priceAt(token, elapsedMs);
    const rugged = token.kind === "rug" && token.eventAtMs !== null && elapsedMs >= token.eventAtMs;
    // A constant-product pool's value moves with the square root of the price.
    const liquidityUsd = rugged
      ? 0.5 + (token.index % 5) * 0.37
      : token.startLiquidityUsd * Math.sqrt(priceUsd / token.startPriceUsd);
    const fdvUsd = priceUsd * token.totalSupply;
    return {
      listed: elapsedMs >= token.listAtMs,
      priceUsd,
      liquidityUsd,
      marketCapUsd: fdvUsd * token.circulatingShare,
      fdvUsd,
      volume24hUsd: liquidityUsd * (0.2 + (token.index % 7) * 0.15),
      priceChangeH1Pct: percentChange(this.priceAt(token, Math.max(0, elapsedMs - HOUR_MS)), priceUsd),
      priceChangeH24Pct: percentChange(this.priceAt(token, Math.max(0, elapsedMs - 24 * HOUR_MS)), priceUsd),
    };
  }

  addEvent(event: PriceEvent): void {
    this.#events.push(event);
  }

  events(): readonly PriceEvent[] {
    return this.#events;
  }

  /** The highest one-trade wick price of this token inside [fromMs, toMs), or null when none. */
  wickHigh(token: SimToken, fromMs: number, toMs: number): number | null {
    let high: number | null = null;
    for (const event of this.#events) {
      if (event.kind !== "wick" || event.tokenIndex !== token.index || event.fromMs < fromMs || event.fromMs >= toMs) continue;
      const price = this.priceAt(token, event.fromMs) * event.factor;
      if (high === null || price > high) high = price;
    }
    return high;
  }

  priceAt(token: SimToken, elapsedMs: number): number {
    return this.#basePriceAt(token, elapsedMs) * this.#spikeFactor(token, elapsedMs);
  }

  #spikeFactor(token: SimToken, elapsedMs: number): number {
    let factor = 1;
    for (const event of this.#events) {
      if (event.kind === "spike" && event.tokenIndex === token.index && elapsedMs >= event.fromMs && elapsedMs < event.toMs) factor *= event.factor;
    }
    return factor;
  }

  #basePriceAt(token: SimToken, elapsedMs: number): number {
    const step = Math.floor(Math.max(0, elapsedMs) / STEP_MS);
    let logPrice = Math.log(token.startPriceUsd) + this.#walk(token, step);
    if (token.eventAtMs !== null && elapsedMs >= token.eventAtMs) {
      if (token.kind === "pump") {
        const ramp = Math.min(1, (elapsedMs - token.eventAtMs) / (PUMP_RAMP_STEPS * STEP_MS));
        logPrice += ramp * Math.log(token.pumpFactor);
      } else if (token.kind === "rug") {
        logPrice += Math.log(RUG_PRICE_FACTOR);
      }
    }
    return Math.exp(logPrice);
  }

  /** Cumulative log-return up to `step`, extended lazily from the token's own stream. */
  #walk(token: SimToken, step: number): number {
    let walk = this.#walks.get(token.index);
    if (!walk) {
      walk = { rng: streamFor(this.#seed, "walk", token.chain, token.index), cumulative: [0] };
      this.#walks.set(token.index, walk);
    }
    while (walk.cumulative.length <= step) {
      const last = walk.cumulative[walk.cumulative.length - 1] ?? 0;
      walk.cumulative.push(last + token.volatility * gaussian(walk.rng));
    }
    return walk.cumulative[step] ?? 0;
  }
}

function percentChange(from: number, to: number): number {
  return Math.round(((to - from) / from) * 10_000) / 100;
}
