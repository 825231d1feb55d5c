/**
 * `npm run drill:outage` — a provider outage against a running `npm start` (SIMULATED upstream).
 *
 * Tops the tracked universe up to --tokens (1,200), waits until it is priced, then per scenario
 * (both providers down; only the primary, DexScreener, down) makes the simulator drop every
 * connection to the provider(s) for --minutes (30), restores them and prints: tokens dead-lettered,
 * attempts counted, the share of active tokens priced within 2 minutes of restoration, and how long
 * health took to turn non-pass (naming the providers) and back to pass.
 *
 *   npm run drill:outage -- --minutes 3 [--tokens 1200] [--scenarios both,primary] [--watch-seconds 300] [--keep-tokens]
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { readStackSettings } from "../lib/settings.ts";
import { QUOTE_ASSETS } from "../market-sim/universe.ts";
import { growUniverse, type HealthView, type Provider, PROVIDERS, queueFigures, readHealth, setFault, sleep, trackerTotals } from "./outage-lib.ts";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    tokens: { type: "string", default: "1200" },
    scenarios: { type: "string", default: "both,primary" },
    "watch-seconds": { type: "string", default: "300" },
    "warmup-seconds": { type: "string", default: "300" },
    "keep-tokens": { type: "boolean", default: false },
  },
});
const options = z.object({
  minutes: z.coerce.number().positive().max(240),
  tokens: z.coerce.number().int().min(1).max(20_000),
  scenarios: z.string().transform((s) => s.split(",")).pipe(z.array(z.enum(["both", "primary"])).min(1)),
  watchSeconds: z.coerce.number().int().min(130).max(3_600),
  warmupSeconds: z.coerce.number().int().min(0).max(3_600),
  keepTokens: z.boolean(),
}).parse({ ...args, watchSeconds: args["watch-seconds"], warmupSeconds: args["warmup-seconds"], keepTokens: args["keep-tokens"] });

const POLL_MS = 5_000;
const RECOVERY_WINDOW_MS = 120_000;
const simUrl = `http://127.0.0.1:${process.env.MARKET_SIM_PORT ?? "54330"}`;
const log = (message: string) => console.log(`[drill ${new Date().toISOString().slice(11, 19)}] ${message}`);
const seconds = (ms: number | null) => (ms === null ? "never" : `${Math.round(ms / 1000)} s`);

const sql = createSql(readStackSettings().dbUrl, { max: 2, applicationName: "peakwatch-drill" });
const settings = Object.fromEntries(
  (await sql<{ key: string; value: string }[]>`select key, value from peakwatch.settings where key in ('peakwatch_functions_url', 'peakwatch_service_key')`)
    .map((row) => [row.key, row.value]),
);
const functionsUrl = settings.peakwatch_functions_url;
const serviceKey = settings.peakwatch_service_key;
if (!functionsUrl || !serviceKey) throw new Error("no functions URL or service key in peakwatch.settings: is `npm start` running?");

async function restoreAll() {
  for (const provider of PROVIDERS) await setFault(simUrl, provider, "none").catch(() => {});
}
let added: number[] = [];
async function cleanUp() {
  await restoreAll();
  if (!options.keepTokens && added.length > 0) {
    await sql`delete from peakwatch.tokens where id = any (${added}::bigint[])`;
    log(`removed the ${added.length} drill tokens (--keep-tokens keeps them)`);
    added = [];
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

/** Polls until `done` or `ms` pass; returns the health views seen, with their time since `from`. */
async function watch(ms: number, from: number, onView: (view: HealthView | null, elapsedMs: number) => Promise<boolean> | boolean) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const view = await readHealth(functionsUrl!, serviceKey!);
    if (await onView(view, Date.now() - from)) return;
    await sleep(Math.min(POLL_MS, Math.max(0, until - Date.now())));
  }
}

async function warmUp(label: string, maxMs: number) {
  const since = new Date(Date.now() - RECOVERY_WINDOW_MS);
  await watch(maxMs, Date.now(), async (view) => {
    const figures = await queueFigures(sql, new Date(Date.now() - RECOVERY_WINDOW_MS));
    const share = figures.active === 0 ? 0 : figures.pricedSince / figures.active;
    return share >= 0.95 && figures.neverChecked <= figures.active / 100 && view !== null && view.providersDown.length === 0;
  });
  const figures = await queueFigures(sql, since);
  log(`${label}: ${figures.active} active tokens, health ${(await readHealth(functionsUrl!, serviceKey!))?.status ?? "unreachable"}`);
}

interface ScenarioResult {
  scenario: string;
  down: Provider[];
  outageSeconds: number;
  deadLettered: number;
  attemptsCounted: number;
  deferredAtRestore: number;
  activeAtRestore: number;
  pricedWithin2MinPercent: number;
  timeTo95PercentPriced: string;
  healthNonPassAfter: string;
  healthNamed: string[];
  overallNonPassAfter: string;
  providersPassAfterRestore: string;
  overallPassAfterRestore: string;
  stillNonPass: string[];
  trackerDuringOutage: Record<string, number>;
}

async function scenario(name: "both" | "primary"): Promise<ScenarioResult> {
  const down: Provider[] = name === "both" ? ["dexscreener", "geckoterminal"] : ["dexscreener"];
  const start = new Date();
  const before = await queueFigures(sql, start);
  log(`${name}: taking ${down.join(" + ")} down for ${options.minutes} min (connections dropped)`);
  for (const provider of down) await setFault(simUrl, provider, "disconnect");

  let nonPassAt: number | null = null;
  let overallNonPassAt: number | null = null;
  const named = new Set<string>();
  await watch(options.minutes * 60_000, start.getTime(), (view, elapsed) => {
    if (view && view.providersDown.length > 0) {
      nonPassAt ??= elapsed;
      for (const provider of view.providersDown) named.add(provider);
    }
    if (view && view.status !== "pass") overallNonPassAt ??= elapsed;
    return false;
  });
  const outageEnd = await queueFigures(sql, start);

  const restored = new Date();
  await restoreAll();
  log(`${name}: restored; watching up to ${options.watchSeconds} s`);
  let providersPassAt: number | null = null;
  let overallPassAt: number | null = null;
  let to95At: number | null = null;
  let within2Min: { priced: number; active: number } | null = null;
  let last: HealthView | null = null;
  await watch(options.watchSeconds * 1000, restored.getTime(), async (view, elapsed) => {
    last = view ?? last;
    const figures = await queueFigures(sql, restored);
    if (to95At === null && figures.active > 0 && figures.pricedSince / figures.active >= 0.95) to95At = elapsed;
    if (within2Min === null && elapsed >= RECOVERY_WINDOW_MS) within2Min = { priced: figures.pricedSince, active: figures.active };
    if (view && view.providersDown.length === 0) providersPassAt ??= elapsed;
    if (view?.status === "pass") overallPassAt ??= elapsed;
    return within2Min !== null && providersPassAt !== null && overallPassAt !== null;
  });
  const after = await queueFigures(sql, start);
  const window = within2Min ?? { priced: after.pricedSince, active: after.active };
  return {
    scenario: name === "both" ? "both providers down" : "primary (DexScreener) down",
    down,
    outageSeconds: Math.round((restored.getTime() - start.getTime()) / 1000),
    deadLettered: after.deadLetteredSince,
    attemptsCounted: Math.max(0, outageEnd.attempts - before.attempts),
    deferredAtRestore: outageEnd.providerDeferred,
    activeAtRestore: window.active,
    pricedWithin2MinPercent: window.active === 0 ? 0 : Math.round((1000 * window.priced) / window.active) / 10,
    timeTo95PercentPriced: seconds(to95At),
    healthNonPassAfter: seconds(nonPassAt),
    healthNamed: [...named],
    overallNonPassAfter: seconds(overallNonPassAt),
    providersPassAfterRestore: seconds(providersPassAt),
    overallPassAfterRestore: seconds(overallPassAt),
    stillNonPass: overallPassAt === null ? (last as HealthView | null)?.nonPass ?? ["health unreachable"] : [],
    trackerDuringOutage: await trackerTotals(sql, start, restored),
  };
}

function print(result: ScenarioResult) {
  const rows: Array<[string, string]> = [
    ["outage", `${result.down.join(" + ")} for ${result.outageSeconds} s`],
    ["tokens dead-lettered", String(result.deadLettered)],
    ["attempts counted during the outage", String(result.attemptsCounted)],
    ["rows deferred as the provider's fault at restoration", String(result.deferredAtRestore)],
    ["active tokens priced within 2 min of restoration", `${result.pricedWithin2MinPercent} % (of ${result.activeAtRestore})`],
    ["time to 95 % of active tokens priced", result.timeTo95PercentPriced],
    ["health non-pass after (providers reading)", `${result.healthNonPassAfter}, naming ${result.healthNamed.join(", ") || "nobody"}`],
    ["health status non-pass after", result.overallNonPassAfter],
    ["providers reading back to pass after restoration", result.providersPassAfterRestore],
    ["health status back to pass after restoration", result.overallPassAfterRestore + (result.stillNonPass.length ? ` (still non-pass: ${result.stillNonPass.join(", ")})` : "")],
    ["tracker runs started during the outage (totals to their end)", Object.entries(result.trackerDuringOutage).map(([k, v]) => `${k} ${v}`).join(", ")],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`\n== ${result.scenario} ==`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

try {
  await restoreAll();
  added = await growUniverse(sql, simUrl, options.tokens, Object.keys(QUOTE_ASSETS));
  log(`universe: added ${added.length} SIMULATED tokens to reach ${options.tokens}`);
  await warmUp("warm-up", options.warmupSeconds * 1000);
  const results: ScenarioResult[] = [];
  for (const [i, name] of options.scenarios.entries()) {
    if (i > 0) await warmUp("settle", 180_000);
    const result = await scenario(name);
    print(result);
    results.push(result);
  }
  console.log(JSON.stringify({ event: "drill.outage", minutes: options.minutes, tokens: options.tokens, results }));
} finally {
  await cleanUp();
  await sql.end({ timeout: 1 });
}
