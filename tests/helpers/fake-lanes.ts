import type { AddressOutcome, PriceProvider, ProviderName, ProviderResult } from "../../supabase/functions/_shared/providers/types.ts";
import type { Lane } from "../../supabase/functions/_shared/tracker/lanes.ts";

/** What a fake provider does with one request: answer per address, or throw. */
export type FakeAnswer = (chain: string, addresses: string[]) => ProviderResult;

export const priced = (address: string, source: ProviderName = "dexscreener"): AddressOutcome => ({
  address,
  outcome: "priced",
  quote: { address, priceUsd: 1.5, marketCapUsd: 1_000_000, liquidityUsd: 50_000, pairAddress: `pair-${address}`, dexId: "fake", symbol: "FAKE", name: "Fake", source },
});

/**
 * A lane around a scripted provider: no limiter wait, and a breaker that is open while `down()`
 * says so (an open breaker makes callLane stop retrying, so a failing fake costs no backoff).
 */
export function fakeLane(
  name: ProviderName,
  answer: FakeAnswer,
  options: { down?: () => boolean; breakerOpen?: () => boolean } = {},
): Lane & { requests: string[][] } {
  const requests: string[][] = [];
  const provider: PriceProvider = {
    name,
    maxBatch: 30,
    fetchPrices: async (chain, addresses) => {
      requests.push(addresses);
      return answer(chain, addresses);
    },
  };
  const down = options.down ?? (() => false);
  return {
    provider,
    requests,
    limiter: { acquire: async () => true },
    breaker: {
      isOpen: async () => options.breakerOpen?.() ?? false,
      recordSuccess: async () => {},
      recordFailure: async () => "closed",
      state: async () => (down() ? "open" : "closed"),
    },
  };
}
