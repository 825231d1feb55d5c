import type { TradingCalendar } from "../../supabase/functions/_shared/candles/calendar.ts";
import { CONTRACT_SYMBOL } from "../../supabase/functions/_shared/providers/tradovate-md/contracts.ts";
import { gaussian, streamFor } from "../market-sim/prng.ts";

/**
 * Seeded random walks for the market-data stand-in, on the real clock. The micro contracts follow
 * their full-size index (MNQ = NQ, MES = ES), as they do on CME. Prices move every 10 seconds and
 * are rounded to the 0.25 tick; a minute bar exists for every minute the session calendar has open
 * (and, with `emptyMinuteRate`, some open minutes have no trades). Everything is a function of
 * (seed, underlying, time), so two requests for the same window get the same bars.
 */
export interface WalkBar {
  timestamp: string;
  open: number;
  high: number;
  low: number;
  close: number;
  upVolume: number;
  downVolume: number;
  upTicks: number;
  downTicks: number;
  bidVolume: number;
  offerVolume: number;
}

const STEP_MS = 10_000;
const MINUTE_MS = 60_000;
const BASE: Record<string, number> = { NQ: 21_000, ES: 6_000 };
const SIGMA: Record<string, number> = { NQ: 4, ES: 1 };
const tick = (price: number) => Math.round(price * 4) / 4;

export const underlyingOf = (contract: string): string | null => {
  const product = CONTRACT_SYMBOL.exec(contract)?.[1];
  if (product === "NQ" || product === "MNQ") return "NQ";
  if (product === "ES" || product === "MES") return "ES";
  return null;
};

export function createWalk(options: { seed: number; calendar: TradingCalendar; historyDays: number; emptyMinuteRate?: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const origin = Math.floor((now() - options.historyDays * 86_400_000) / MINUTE_MS) * MINUTE_MS;
  const paths = new Map<string, number[]>();

  /** Price at the 10-second step holding `t` (the walk runs on regardless of the session). */
  function priceAt(underlying: string, t: number): number {
    const path = paths.get(underlying) ?? [BASE[underlying]!];
    paths.set(underlying, path);
    const step = Math.floor((t - origin) / STEP_MS);
    while (path.length <= step) {
      const next = path.at(-1)! + gaussian(streamFor(options.seed, underlying, path.length)) * SIGMA[underlying]!;
      path.push(next);
    }
    return tick(path[Math.max(0, step)]!);
  }

  /** The minute bar starting at `minute`, as far as it has formed by `at`; null when closed, out of history or without trades. */
  function minuteBar(underlying: string, minute: number, at: number): WalkBar | null {
    if (minute < origin || minute > at || !options.calendar.isOpen(new Date(minute))) return null;
    const rng = streamFor(options.seed, underlying, "volume", minute);
    if (rng() < (options.emptyMinuteRate ?? 0)) return null;
    const prices: number[] = [];
    for (let t = minute; t < minute + MINUTE_MS && t <= at; t += STEP_MS) prices.push(priceAt(underlying, t));
    const formed = prices.length / (MINUTE_MS / STEP_MS);
    const upVolume = Math.round((50 + rng() * 400) * formed);
    const downVolume = Math.round((50 + rng() * 400) * formed);
    return {
      timestamp: new Date(minute).toISOString(),
      open: prices[0]!,
      high: Math.max(...prices),
      low: Math.min(...prices),
      close: prices.at(-1)!,
      upVolume,
      downVolume,
      upTicks: Math.round(upVolume / 3),
      downTicks: Math.round(downVolume / 3),
      bidVolume: downVolume,
      offerVolume: upVolume,
    };
  }

  /**
   * Bars of `elementMinutes` for a contract, newest first trimmed to `asMuchAsElements`, with
   * bar starts in [asFarAs, closest] and not after `at` (the forming bar included).
   */
  function bars(contract: string, elementMinutes: number, range: { closest: number; asFarAs: number | null; asMuchAs: number }, at: number): WalkBar[] {
    const underlying = underlyingOf(contract);
    if (!underlying) return [];
    const size = elementMinutes * MINUTE_MS;
    const newest = Math.floor(Math.min(range.closest, at) / size) * size;
    const oldest = Math.max(origin, range.asFarAs === null ? Number.NEGATIVE_INFINITY : Math.ceil(range.asFarAs / size) * size);
    const found: WalkBar[] = [];
    for (let start = newest; start >= oldest && found.length < range.asMuchAs; start -= size) {
      const minutes: WalkBar[] = [];
      for (let minute = start; minute < start + size; minute += MINUTE_MS) {
        const bar = minuteBar(underlying, minute, at);
        if (bar) minutes.push(bar);
      }
      if (minutes.length === 0) continue;
      const sum = (field: keyof WalkBar) => minutes.reduce((total, bar) => total + (bar[field] as number), 0);
      found.push({
        timestamp: new Date(start).toISOString(),
        open: minutes[0]!.open,
        high: Math.max(...minutes.map((bar) => bar.high)),
        low: Math.min(...minutes.map((bar) => bar.low)),
        close: minutes.at(-1)!.close,
        upVolume: sum("upVolume"),
        downVolume: sum("downVolume"),
        upTicks: sum("upTicks"),
        downTicks: sum("downTicks"),
        bidVolume: sum("bidVolume"),
        offerVolume: sum("offerVolume"),
      });
    }
    return found.reverse();
  }

  return { bars, origin };
}
