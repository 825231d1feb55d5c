/** `tsx dev/market-sim/main.ts`: the market simulator on a fixed loopback port for the local stack. */
import { z } from "zod";
import { startMarketSimulator } from "./server.ts";

const env = z
  .object({
    MARKET_SIM_PORT: z.coerce.number().int().min(1).max(65_535).default(54_330),
    MARKET_SIM_SEED: z.coerce.number().int().default(1),
    /** GeckoTerminal's simulated limit per minute (30, as the public API); scale it with the budget. */
    MARKET_SIM_GECKOTERMINAL_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  })
  .parse(process.env);

const sim = await startMarketSimulator({ port: env.MARKET_SIM_PORT, seed: env.MARKET_SIM_SEED, limits: { geckoterminal: env.MARKET_SIM_GECKOTERMINAL_PER_MINUTE } });
console.log(
  `market-sim: SIMULATED market data, not real prices (seed ${env.MARKET_SIM_SEED}): ` +
    `DexScreener at ${sim.url}, GeckoTerminal at ${sim.geckoterminalUrl}, call feed at ${sim.feedUrl}, admin at ${sim.url}/__sim/stats`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void sim.close().then(() => process.exit(0)));
}
