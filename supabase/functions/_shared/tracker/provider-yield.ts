import type { Redis } from "../limits/redis.ts";
import type { ProviderName, ProviderResult } from "../providers/types.ts";
import type { TrackerStats } from "./stats.ts";

/**
 * Per provider, the addresses it has priced before. Yield is computed over those only, so tokens a
 * provider never listed do not lower it, while a renamed field that makes every pair unpriceable
 * (no parse failure, all load silently on the fallback) collapses it.
 */
export interface PricedMemory {
  pricedBefore(chain: string, addresses: readonly string[]): Promise<boolean[]>;
  remember(chain: string, addresses: readonly string[]): Promise<void>;
}

/** One Redis set per provider and chain; shared by every tracker like the limiter. */
export function redisPricedMemory(redis: Redis, keyPrefix: string, provider: string): PricedMemory {
  const key = (chain: string) => `${keyPrefix}priced:${provider}:${chain}`;
  return {
    async pricedBefore(chain, addresses) {
      if (addresses.length === 0) return [];
      const found = (await redis.smismember(key(chain), ...addresses)) as number[];
      return found.map((flag) => flag === 1);
    },
    async remember(chain, addresses) {
      if (addresses.length > 0) await redis.sadd(key(chain), ...addresses);
    },
  };
}

export function inMemoryPricedMemory(): PricedMemory {
  const seen = new Set<string>();
  return {
    pricedBefore: async (chain, addresses) => addresses.map((address) => seen.has(`${chain}:${address}`)),
    remember: async (chain, addresses) => {
      for (const address of addresses) seen.add(`${chain}:${address}`);
    },
  };
}

/** The runs.counts keys of a provider's yield figures. */
export const yieldKeys = (provider: ProviderName) =>
  ({ asked: `${provider}AskedKnown`, priced: `${provider}PricedKnown` }) as const;

/** Adds one answer's yield figures and dropped market caps to the run's stats; remembers what it priced. */
export async function observeYield(
  memory: PricedMemory | undefined,
  provider: ProviderName,
  chain: string,
  asked: readonly string[],
  result: ProviderResult,
  stats: TrackerStats,
): Promise<void> {
  const priced = new Set<string>();
  const cut = new Set<string>();
  for (const entry of result.results) {
    if (entry.outcome === "priced") {
      priced.add(entry.address);
      if (entry.quote.marketCapDropped) stats.absurdMarketCaps += 1;
    } else if (entry.reason === "response_capped") cut.add(entry.address);
  }
  if (!memory) return;
  const counted = asked.filter((address) => !cut.has(address));
  const known = await memory.pricedBefore(chain, counted);
  const keys = yieldKeys(provider);
  counted.forEach((address, i) => {
    if (!known[i]) return;
    stats[keys.asked] += 1;
    if (priced.has(address)) stats[keys.priced] += 1;
  });
  await memory.remember(chain, [...priced]);
}
