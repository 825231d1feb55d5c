/**
 * The fault drill's nine fault classes against a running `npm start` (SIMULATED upstream): how each
 * is injected, how it is fixed, and what it leaves behind. Each injects through an interface an
 * operator or upstream really has — the market simulator's and the auth stand-in's fault controls,
 * the call feed, pg_cron's job switch, the settings the cron helper reads, a source's declared floor —
 * never by writing health's own inputs.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { startOAuth2StandIn, type OAuth2StandIn } from "../auth-stand-ins/oauth2-server.ts";
import type { FaultClassId, Watch } from "./faults-lib.ts";
import { setFault, sleep } from "./outage-lib.ts";

export interface DrillContext {
  sql: Sql;
  simUrl: string;
  functionsUrl: string;
  serviceKey: string;
  log: (message: string) => void;
}

export interface FaultClass {
  id: FaultClassId;
  title: string;
  watch: Watch;
  /** Before the baseline: what the class needs in place (a credential with a live token). */
  setup?(ctx: DrillContext): Promise<string | void>;
  /** Injects the fault; answers the onset time when it is later than the call's return. */
  inject(ctx: DrillContext): Promise<number | void>;
  fix(ctx: DrillContext): Promise<void>;
  /** Always runs after the class (also after a failure): leaves the suite as it was. */
  cleanup?(ctx: DrillContext): Promise<void>;
}

// ---- pg_cron job switch ------------------------------------------------------------------------

async function setJobActive(sql: Sql, job: string, active: boolean): Promise<void> {
  const rows = await sql`select cron.alter_job(jobid, active := ${active}) from cron.job where jobname = ${job}`;
  if (rows.length !== 1) throw new Error(`no pg_cron job ${job}`);
}

function jobStopped(id: FaultClassId, fn: "tracker" | "poller"): FaultClass {
  const job = `peakwatch-${fn}`;
  return {
    id,
    title: `${fn} stopped (its pg_cron job switched off)`,
    watch: { kind: "status", readings: ["cron:inactiveJobs", `${fn}:lastSuccessAge`, ...(fn === "poller" ? ["sources:lastSuccessAge"] : [])] },
    inject: (ctx) => setJobActive(ctx.sql, job, false),
    fix: (ctx) => setJobActive(ctx.sql, job, true),
    cleanup: (ctx) => setJobActive(ctx.sql, job, true),
  };
}

// ---- market simulator faults -------------------------------------------------------------------

function providerFault(id: FaultClassId, title: string, kind: "renamed_optional" | "renamed_field", readings: string[]): FaultClass {
  return {
    id,
    title,
    watch: { kind: "status", readings },
    inject: (ctx) => setFault(ctx.simUrl, "dexscreener", kind),
    fix: (ctx) => setFault(ctx.simUrl, "dexscreener", "none"),
    cleanup: (ctx) => setFault(ctx.simUrl, "dexscreener", "none"),
  };
}

// ---- cron → function auth ------------------------------------------------------------------------

/** The key the cron helper sends, as `npm start` stored it; put back by fix and cleanup. */
let storedKey: string | null = null;
const unauthorized: FaultClass = {
  id: "cron-unauthorized",
  title: "cron → function unauthorized (a wrong key in the settings the cron helper reads)",
  // The function answers 401, so what it should have done is not done: the lag shows as soon as the
  // failed invocations are collected.
  watch: {
    kind: "status",
    readings: ["invocations:failed", "cron:failedRuns", "queue:overdue", "queue:unprocessed", "tokens:freshPercent", "tracker:", "poller:", "orchestrator:", "sources:lastSuccessAge"],
  },
  async inject(ctx) {
    const [row] = await ctx.sql<{ value: string }[]>`select value from peakwatch.settings where key = 'peakwatch_service_key'`;
    storedKey = row?.value ?? ctx.serviceKey;
    await ctx.sql`update peakwatch.settings set value = ${`drill-wrong-${randomBytes(8).toString("hex")}`}, updated_at = now() where key = 'peakwatch_service_key'`;
  },
  fix: (ctx) => restoreKey(ctx),
  cleanup: (ctx) => restoreKey(ctx),
};
async function restoreKey(ctx: DrillContext): Promise<void> {
  if (storedKey === null) return;
  await ctx.sql`update peakwatch.settings set value = ${storedKey}, updated_at = now() where key = 'peakwatch_service_key'`;
  storedKey = null;
}

// ---- backlog flood -----------------------------------------------------------------------------

const FLOOD_TOKENS = 3_000;
const FLOOD_PREFIX = "DriLLFLooD";
const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const floodAddress = () => FLOOD_PREFIX + Array.from(randomBytes(30), (b) => base58[b % 58]).join("");
const backlogFlood: FaultClass = {
  id: "backlog-flood",
  title: `backlog flood (${FLOOD_TOKENS} new tokens queued at once, unknown upstream)`,
  watch: { kind: "status", readings: ["queue:"] },
  async inject(ctx) {
    const addresses = Array.from({ length: FLOOD_TOKENS }, floodAddress);
    await ctx.sql`insert into peakwatch.tokens (chain, address) select 'solana', a from unnest(${addresses}::text[]) a on conflict do nothing`;
  },
  fix: (ctx) => removeFlood(ctx),
  cleanup: (ctx) => removeFlood(ctx),
};
async function removeFlood(ctx: DrillContext): Promise<void> {
  await ctx.sql`delete from peakwatch.tokens where chain = 'solana' and address like ${`${FLOOD_PREFIX}%`}`;
}

// ---- copycat tickers ---------------------------------------------------------------------------

const COPYCAT_TICKER = "DRILLCOPY";
const simTokens = z.object({ tokens: z.array(z.object({ chain: z.string(), address: z.string(), kind: z.string() })) });
const copycats: FaultClass = {
  id: "copycat-tickers",
  title: `copycat tickers (one ticker called for 3 addresses through the feed)`,
  watch: { kind: "reading", name: "calls:copycatTickers" },
  async inject(ctx) {
    const { tokens } = simTokens.parse(await (await fetch(`${ctx.simUrl}/__sim/tokens`)).json());
    const steady = tokens.filter((t) => t.kind === "steady").slice(0, 3);
    if (steady.length < 3) throw new Error("the simulator has fewer than 3 steady tokens");
    const response = await fetch(`${ctx.simUrl}/__sim/feed/calls`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ calls: steady.map((t) => ({ chain: t.chain, token_address: t.address, symbol: COPYCAT_TICKER, group: "drill" })) }),
    });
    if (response.status !== 201) throw new Error(`simulator refused the feed calls: HTTP ${response.status}`);
  },
  // The "fix" of a data event: the calls are withdrawn (the reading otherwise holds for its hour, by design).
  fix: (ctx) => removeCopycats(ctx),
  cleanup: (ctx) => removeCopycats(ctx),
};
async function removeCopycats(ctx: DrillContext): Promise<void> {
  await ctx.sql`delete from peakwatch.copycat_tokens where upper(ticker) = ${COPYCAT_TICKER}`;
  await ctx.sql`delete from peakwatch.calls where upper(ticker) = ${COPYCAT_TICKER}`;
}

// ---- silent source -----------------------------------------------------------------------------

export const SILENT_SOURCE = "drill-silent";
/** 5 minutes (the shortest window a source may declare) at the feed's ~13 calls a minute: 52–65 normally. */
const SILENT_FLOOR = 40;
const SILENT_WINDOW_MINUTES = 5;
const EMPTY_CURSOR = "999999999999";

/**
 * Creates (or re-enables) the drill's feed source at the drill's start, so its first window is over
 * by the time the class runs: it reads the simulator's call feed from its newest call on.
 */
export async function prepareSilentSource(ctx: DrillContext): Promise<void> {
  const [demo] = await ctx.sql<{ cursor: string | null; config: unknown }[]>`select cursor, config from peakwatch.sources where name = 'demo-calls'`;
  await ctx.sql`
    insert into peakwatch.sources (name, kind, config, cursor, poll_interval_seconds, enabled, expected_min_calls, expected_window_minutes)
    values (${SILENT_SOURCE}, 'http_feed', ${ctx.sql.json((demo?.config ?? {}) as never)}, ${demo?.cursor ?? null}, 60, true, ${SILENT_FLOOR}, ${SILENT_WINDOW_MINUTES})
    on conflict (name) do update set enabled = true, config = excluded.config, cursor = excluded.cursor,
      expected_min_calls = excluded.expected_min_calls, expected_window_minutes = excluded.expected_window_minutes,
      next_poll_at = now(), created_at = now(), updated_at = now()`;
}
export async function retireSilentSource(ctx: DrillContext): Promise<void> {
  await ctx.sql`update peakwatch.sources set enabled = false, updated_at = now() where name = ${SILENT_SOURCE}`;
}
const silentSource: FaultClass = {
  id: "silent-source",
  title: `a silent source (floor ${SILENT_FLOOR} calls per ${SILENT_WINDOW_MINUTES} min; its feed answers 200 with empty pages)`,
  watch: { kind: "status", readings: [`sources:newCallRate#${SILENT_SOURCE}`] },
  async setup(ctx) {
    const [row] = await ctx.sql<{ graded: boolean }[]>`
      select created_at < now() - make_interval(mins => expected_window_minutes) as graded from peakwatch.sources where name = ${SILENT_SOURCE} and enabled`;
    if (!row) return "the drill's source is missing";
    if (!row.graded) {
      const [{ wait }] = await ctx.sql<[{ wait: number }]>`
        select greatest(0, extract(epoch from created_at + make_interval(mins => expected_window_minutes) - now()))::float8 + 5 as wait
        from peakwatch.sources where name = ${SILENT_SOURCE}`;
      ctx.log(`silent-source: waiting ${Math.round(wait)} s for the source's first window to pass`);
      await sleep(wait * 1000);
    }
  },
  // A cursor past the feed's end: every poll succeeds with an empty page, as a feed that stopped carrying calls.
  inject: async (ctx) => {
    const [row] = await ctx.sql<{ cursor: string | null }[]>`select cursor from peakwatch.sources where name = ${SILENT_SOURCE}`;
    silentCursor = row?.cursor ?? null;
    await ctx.sql`update peakwatch.sources set cursor = ${EMPTY_CURSOR} where name = ${SILENT_SOURCE}`;
  },
  // The feed carries calls again, from where it stopped: the calls it held back arrive with the next poll.
  fix: async (ctx) => {
    await ctx.sql`update peakwatch.sources set cursor = ${silentCursor} where name = ${SILENT_SOURCE}`;
  },
};
let silentCursor: string | null = null;

// ---- expiring credential -----------------------------------------------------------------------

export const DRILL_CREDENTIAL = "drill-expiring";
const CLIENT_ID = "peakwatch-local";
/** The stand-in's local client secret; handed to the functions as PEAKWATCH_CREDENTIAL_DRILL_EXPIRING_CLIENT_SECRET. */
export const DRILL_CLIENT_SECRET = "local-client-secret";
export const DRILL_CREDENTIAL_ENV = { PEAKWATCH_CREDENTIAL_DRILL_EXPIRING_CLIENT_SECRET: DRILL_CLIENT_SECRET };
/** Access tokens live 5 minutes, so the refresh margin (half the lifetime) starts 150 s after issue. */
const TOKEN_SECONDS = 300;

let authStandIn: OAuth2StandIn | null = null;

const refreshAnswer = z.object({ credentials: z.array(z.object({ outcome: z.string(), error: z.string().optional() })) }).partial();
async function forceRefresh(ctx: DrillContext): Promise<{ status: number; outcome: string | undefined; error: string | undefined }> {
  const response = await fetch(`${ctx.functionsUrl}/functions/v1/token-refresh`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ctx.serviceKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ names: [DRILL_CREDENTIAL], force: true, trigger: "test" }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  const body = refreshAnswer.safeParse(JSON.parse(text || "{}"));
  const first = body.success ? body.data.credentials?.[0] : undefined;
  return { status: response.status, outcome: first?.outcome, error: first?.error ?? (response.ok ? undefined : text.slice(0, 300)) };
}

const expiringCredential: FaultClass = {
  id: "expiring-credential",
  title: `an expiring credential that cannot refresh (OAuth2 stand-in: ${TOKEN_SECONDS} s tokens, then 5xx on every token request)`,
  watch: { kind: "status", readings: [`credentials:secondsToExpiry#${DRILL_CREDENTIAL}`, "token-refresh:"] },
  async setup(ctx) {
    authStandIn ??= await startOAuth2StandIn({ accessTokenTtlSeconds: TOKEN_SECONDS });
    authStandIn.setFault("none");
    await ctx.sql`
      insert into peakwatch.credentials (name, strategy, config, enabled)
      values (${DRILL_CREDENTIAL}, 'oauth2_client_credentials', ${ctx.sql.json({ token_url: authStandIn.tokenUrl, client_id: CLIENT_ID })}, true)
      on conflict (name) do update set config = excluded.config, enabled = true, updated_at = now()`;
    // A running isolate reloads the credential list at most every minute: try until it knows the new row.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const answer = await forceRefresh(ctx);
      if (answer.outcome === "refreshed") return;
      if (Date.now() > deadline || /not set/.test(answer.error ?? "")) {
        await ctx.sql`update peakwatch.credentials set enabled = false where name = ${DRILL_CREDENTIAL}`;
        return `no token for the drill's credential (HTTP ${answer.status}: ${answer.error ?? answer.outcome}); ` +
          "a suite the drill did not start lacks PEAKWATCH_CREDENTIAL_DRILL_EXPIRING_CLIENT_SECRET: stop `npm start` and let the drill start it";
      }
      await sleep(10_000);
    }
  },
  /** Onset: the token enters its refresh margin while the auth server refuses every request. */
  async inject(ctx) {
    authStandIn!.setFault("5xx", { count: 1_000_000 });
    const [row] = await ctx.sql<{ expires_ms: number | null }[]>`
      select (extract(epoch from expires_at) * 1000)::float8 as expires_ms from peakwatch.credential_status where name = ${DRILL_CREDENTIAL}`;
    const onset = (row?.expires_ms ?? Date.now()) - (TOKEN_SECONDS / 2) * 1000;
    if (onset > Date.now()) {
      ctx.log(`expiring-credential: auth server refusing; the token enters its refresh margin in ${Math.round((onset - Date.now()) / 1000)} s (the onset)`);
      await sleep(onset - Date.now());
    }
    return Math.max(onset, Date.now());
  },
  fix: async () => authStandIn!.setFault("none"),
  async cleanup(ctx) {
    await ctx.sql`update peakwatch.credentials set enabled = false, updated_at = now() where name = ${DRILL_CREDENTIAL}`;
  },
};

/** At exit the drill removes what it added: its credential and source rows (and that source's calls), the stand-in. */
export async function removeDrillRows(ctx: DrillContext): Promise<void> {
  await ctx.sql`delete from peakwatch.credential_status where name = ${DRILL_CREDENTIAL}`.catch(() => {});
  await ctx.sql`delete from peakwatch.credentials where name = ${DRILL_CREDENTIAL}`.catch(() => {});
  // The source's calls go with it (its counters cascade); the tokens stay, the demo feed calls them too.
  await ctx.sql`delete from peakwatch.calls where source_id = (select id from peakwatch.sources where name = ${SILENT_SOURCE})`.catch(() => {});
  await ctx.sql`delete from peakwatch.sources where name = ${SILENT_SOURCE}`.catch(() => {});
  await authStandIn?.close().catch(() => {});
  authStandIn = null;
}

export const FAULT_CLASSES: Record<FaultClassId, FaultClass> = {
  "tracker-stopped": jobStopped("tracker-stopped", "tracker"),
  "poller-stopped": jobStopped("poller-stopped", "poller"),
  "inputs-without-outputs": providerFault(
    "inputs-without-outputs",
    "inputs without outputs (DexScreener answers every asked address, with no price: it parses, prices nothing)",
    "renamed_optional",
    ["providers:yield#dexscreener", "pipeline:callConversion", "tokens:freshPercent"],
  ),
  "schema-drift": providerFault("schema-drift", "provider schema drift (DexScreener renames a field its parser needs)", "renamed_field", [
    "providers:parseFailures",
    "providers:unavailableFor#dexscreener",
    "providers:yield#dexscreener",
    "sources:pollErrors#dexscreener-profiles",
  ]),
  "cron-unauthorized": unauthorized,
  "backlog-flood": backlogFlood,
  "copycat-tickers": copycats,
  "silent-source": silentSource,
  "expiring-credential": expiringCredential,
};
