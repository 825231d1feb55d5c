import type { MarketSimulator } from "../../dev/market-sim/server.ts";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { sleep } from "../../supabase/functions/_shared/limits/sleep.ts";
import { addSimToken, CHAINS, prng, tradingSpec } from "./market.ts";

export interface Arrival {
  id: number;
  chain: string;
}

export interface Stream {
  stop(): Promise<{ arrivals: Arrival[]; errors: string[]; late: number }>;
}

/**
 * New tokens at a steady rate: each is listed on the simulated market first, then inserted into
 * peakwatch.tokens on its own (as the poller would), which queues it at priority 0. The
 * schedule is fixed (tick k at start + k·interval); `late` counts ticks that fell behind it.
 */
export function startStream(options: {
  sim: MarketSimulator;
  sql: Sql;
  perSecond: number;
  seed: number;
  pumpShare: number;
}): Stream {
  const controller = new AbortController();
  const random = prng(options.seed);
  const arrivals: Arrival[] = [];
  const errors: string[] = [];
  const intervalMs = 1_000 / options.perSecond;
  let late = 0;

  const loop = async () => {
    const started = Date.now();
    for (let tick = 0; !controller.signal.aborted; tick++) {
      const wait = started + tick * intervalMs - Date.now();
      if (wait > 0) await sleep(wait, controller.signal).catch(() => {});
      else if (wait < -intervalMs) late += 1;
      if (controller.signal.aborted) break;
      const chain = CHAINS[Math.floor(random() * CHAINS.length)]!;
      try {
        const token = await addSimToken(options.sim, tradingSpec(chain, random, options.pumpShare));
        const [row] = await options.sql<{ id: number }[]>`
          insert into peakwatch.tokens (chain, address) values (${token.chain}, ${token.address}) returning id`;
        arrivals.push({ id: row!.id, chain });
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };

  const running = loop();
  return {
    async stop() {
      controller.abort();
      await running;
      return { arrivals, errors, late };
    },
  };
}
