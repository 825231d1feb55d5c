import { type BreakerSnapshot, breakerKey, createCircuitBreaker } from "../../limits/breaker.ts";
import type { ProviderName } from "../../providers/types.ts";
import { type AreaResult, type CheckContext, reading } from "../reading.ts";

/** The tracker's providers in the order it asks them. */
const PROVIDERS: ReadonlyArray<{ name: ProviderName; role: string }> = [
  { name: "dexscreener", role: "primary" },
  { name: "geckoterminal", role: "fallback" },
];

/**
 * A half-open breaker (its open period over, no probe answered yet) still counts as down for this
 * long. While a provider is down its rows come due every 15 s, so a probe follows the open period
 * within seconds and a failed one re-opens it. Past this nobody has asked the provider (a fallback
 * the recovered primary no longer needs), and an old failure is no evidence it is down now.
 */
const HALF_OPEN_EVIDENCE_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Whole seconds (rounded up, so at least 1 the moment it goes down) the provider has been down by
 * its shared breaker; 0 when it is available or nobody has asked it lately.
 */
export function unavailableSeconds(snapshot: BreakerSnapshot): number {
  if (snapshot.state === "closed" || snapshot.openUntil === null) return 0;
  if (snapshot.state === "half-open" && snapshot.now - snapshot.openUntil >= HALF_OPEN_EVIDENCE_MS) return 0;
  return Math.max(1, Math.ceil((snapshot.now - (snapshot.openedAt ?? snapshot.openUntil)) / 1000));
}

function describe(name: string, role: string, snapshot: BreakerSnapshot, seconds: number): string {
  if (snapshot.state === "closed") {
    return `${name} (${role}) available` + (snapshot.failures > 0 ? `; ${snapshot.failures} failure(s) in a row, breaker still closed` : "");
  }
  if (seconds === 0) return `${name} (${role}) not asked since its breaker's open period ended at ${iso(snapshot.openUntil!)}`;
  const since = snapshot.openedAt ? ` since ${iso(snapshot.openedAt)}` : "";
  const state = snapshot.state === "open" ? `breaker open until ${iso(snapshot.openUntil!)}` : "breaker half-open, waiting for a probe";
  return `${name} (${role}) unavailable${since} (${state}, ${snapshot.failures} failures in a row): the provider's fault, ` +
    "its tokens are deferred without counting attempts";
}

/**
 * Per provider, how long it has been down as every tracker sees it (the shared breaker in Redis):
 * non-pass while it is down, naming it, so an outage reads as the provider's fault.
 */
export async function providerChecks(ctx: CheckContext): Promise<AreaResult> {
  const redis = ctx.redis;
  if (!redis) return { checks: [], notes: ["no Redis client configured: providers:unavailableFor skipped"] };
  const snapshots = await Promise.all(
    PROVIDERS.map(({ name }) => createCircuitBreaker(redis, { key: breakerKey(ctx.config.redisPrefix, name) }).snapshot()),
  );
  return {
    checks: PROVIDERS.map(({ name, role }, i) => {
      const seconds = unavailableSeconds(snapshots[i]!);
      return reading(ctx, "providers:unavailableFor", seconds, describe(name, role, snapshots[i]!, seconds), { componentId: name });
    }),
  };
}
