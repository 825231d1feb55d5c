/** What the outage drill reads and pokes: the simulator's faults, health, and figures from the app database. */
import { z } from "zod";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import type { FaultKind } from "../market-sim/controls.ts";

export const PROVIDERS = ["dexscreener", "geckoterminal"] as const;
export type Provider = (typeof PROVIDERS)[number];

export async function setFault(simUrl: string, provider: Provider, kind: FaultKind): Promise<void> {
  const response = await fetch(`${simUrl}/__sim/faults`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ provider, kind }),
  });
  if (!response.ok) throw new Error(`simulator refused the ${kind} fault for ${provider}: HTTP ${response.status} ${await response.text()}`);
}

const healthSchema = z.object({
  status: z.enum(["pass", "warn", "fail"]),
  checks: z.record(z.string(), z.array(z.object({ componentId: z.string().optional(), status: z.enum(["pass", "warn", "fail"]), output: z.string().optional() }))),
});

export interface HealthView {
  status: "pass" | "warn" | "fail";
  /** Providers whose availability reading is not pass. */
  providersDown: string[];
  /** Every non-pass reading, `name#component`. */
  nonPass: string[];
}

export async function readHealth(functionsUrl: string, key: string): Promise<HealthView | null> {
  try {
    const response = await fetch(`${functionsUrl}/functions/v1/health`, { headers: { Authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5_000) });
    const body = healthSchema.parse(await response.json());
    const nonPass = Object.entries(body.checks).flatMap(([name, readings]) =>
      readings.filter((r) => r.status !== "pass").map((r) => (r.componentId ? `${name}#${r.componentId}` : name))
    );
    const providersDown = (body.checks["providers:unavailableFor"] ?? []).filter((r) => r.status !== "pass").map((r) => r.componentId ?? "?");
    return { status: body.status, providersDown, nonPass };
  } catch {
    return null;
  }
}

export interface QueueFigures {
  active: number;
  pricedSince: number;
  attempts: number;
  deadLetteredSince: number;
  providerDeferred: number;
  /** Queue rows never checked yet (priority 0). */
  neverChecked: number;
}

/** Active tokens and how many were priced since `since`; attempts and dead letters since then. */
export async function queueFigures(sql: Sql, since: Date): Promise<QueueFigures> {
  const [tokens] = await sql<{ active: number; priced: number }[]>`
    select count(*) filter (where status = 'active')::int as active,
           count(*) filter (where status = 'active' and last_priced_at >= ${since.toISOString()}::timestamptz)::int as priced
    from peakwatch.tokens`;
  const [queue] = await sql<{ attempts: number; dead: number; deferred: number; fresh: number }[]>`
    select coalesce(sum(attempts), 0)::int as attempts, count(*) filter (where priority = 0)::int as fresh,
           count(*) filter (where dead_lettered_at >= ${since.toISOString()}::timestamptz)::int as dead,
           count(*) filter (where last_failure_kind = 'provider')::int as deferred
    from peakwatch.queue`;
  return { active: tokens!.active, pricedSince: tokens!.priced, attempts: queue!.attempts, deadLetteredSince: queue!.dead, providerDeferred: queue!.deferred, neverChecked: queue!.fresh };
}

/** What the trackers recorded for runs started in [from, to). */
export async function trackerTotals(sql: Sql, from: Date, to: Date): Promise<Record<string, number>> {
  const [row] = await sql<{ totals: Record<string, number> }[]>`
    select jsonb_build_object(
      'runs', count(*),
      'priced', coalesce(sum((counts->>'priced')::int), 0),
      'failed', coalesce(sum((counts->>'failed')::int), 0),
      'providerFailures', coalesce(sum((counts->>'providerFailures')::int), 0),
      'deadLettered', coalesce(sum((counts->>'deadLettered')::int), 0),
      'dexscreenerCalls', coalesce(sum((counts->>'dexscreenerCalls')::int), 0),
      'geckoterminalCalls', coalesce(sum((counts->>'geckoterminalCalls')::int), 0)
    ) as totals
    from peakwatch.runs where function_name = 'tracker' and started_at >= ${from.toISOString()}::timestamptz and started_at < ${to.toISOString()}::timestamptz`;
  return row!.totals;
}

/** Tops the tracked universe up to `target` tokens: new steady tokens in the simulator, inserted (and so queued) in the app database. */
export async function growUniverse(sql: Sql, simUrl: string, target: number, chains: readonly string[]): Promise<number[]> {
  const [{ n }] = await sql<[{ n: number }]>`select count(*)::int as n from peakwatch.tokens where status <> 'dead'`;
  const missing = Math.max(0, target - n);
  const ids: number[] = [];
  for (let start = 0; start < missing; start += 200) {
    const specs = Array.from({ length: Math.min(200, missing - start) }, (_, i) => ({
      chain: chains[(start + i) % chains.length]!,
      kind: "steady",
      symbol: `DRILL${start + i}`,
    }));
    const response = await fetch(`${simUrl}/__sim/tokens`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tokens: specs }) });
    if (response.status !== 201) throw new Error(`simulator refused new tokens: HTTP ${response.status} ${await response.text()}`);
    const { tokens } = z.object({ tokens: z.array(z.object({ chain: z.string(), address: z.string() })) }).parse(await response.json());
    const rows = await sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address)
      select * from unnest(${tokens.map((t) => t.chain)}::text[], ${tokens.map((t) => t.address)}::text[])
      on conflict do nothing
      returning id`;
    ids.push(...rows.map((row) => row.id));
  }
  return ids;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
