import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import { readBacklog } from "../../supabase/functions/_shared/queue/backlog.ts";

// health answers from reads and records no runs; its status is the first line of the view
const FUNCTIONS = ["poller", "tracker", "orchestrator", "token-refresh", "candles"];

export interface Snapshot {
  backlog: Awaited<ReturnType<typeof readBacklog>>;
  pricedLastMinute: number;
  tokens: { pending: number; active: number; dead: number };
  functions: Array<{ name: string; started_at: string | null; outcome: string | null; error: string | null; last_ok_age_s: number | null }>;
  failedInvocations: number;
  health: string;
}

/** Everything the live view shows, from bounded queries (index probes and recent runs only). */
export async function takeSnapshot(sql: Sql, healthUrl: string): Promise<Snapshot> {
  const backlog = await readBacklog(sql);
  const [priced] = await sql<{ n: number }[]>`
    select coalesce(sum((counts->>'priced')::int), 0)::int as n from peakwatch.runs
    where function_name = 'tracker' and started_at > now() - interval '3 minutes' and finished_at > now() - interval '1 minute'`;
  const [tokens] = await sql<{ pending: number; active: number; dead: number }[]>`
    select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'active')::int as active,
           count(*) filter (where status = 'dead')::int as dead
    from (select status from peakwatch.tokens order by id desc limit 100000) recent`;
  const functions = await sql<Snapshot["functions"]>`
    select f as name, last.started_at, last.outcome, left(last.error, 60) as error,
           extract(epoch from now() - ok.finished_at)::int as last_ok_age_s
    from unnest(${FUNCTIONS}::text[]) f
    left join lateral (select started_at, outcome, error from peakwatch.runs where function_name = f order by started_at desc limit 1) last on true
    left join lateral (select finished_at from peakwatch.runs where function_name = f and outcome = 'ok' order by finished_at desc limit 1) ok on true`;
  const [failed] = await sql<{ n: number }[]>`
    select count(*)::int as n from peakwatch.invocations where outcome = 'failed' and requested_at > now() - interval '1 hour'`;
  let health = "n/a";
  try {
    const response = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { status?: string };
    health = response.status === 404 ? "n/a (no health function)" : `${body.status ?? "?"} (HTTP ${response.status})`;
  } catch {
    health = "unreachable";
  }
  return { backlog, pricedLastMinute: priced!.n, tokens: tokens!, functions, failedInvocations: failed!.n, health };
}

const pad = (value: unknown, width: number) => String(value ?? "-").padEnd(width);

export function render(snapshot: Snapshot, header: string): string {
  const { backlog } = snapshot;
  const lines = [
    header,
    "",
    `health            ${snapshot.health}`,
    `backlog           ${backlog.due_count} due (${backlog.due_new_count} never priced)${backlog.figures_exact ? "" : " ~estimated"}`,
    `lag               oldest ${backlog.overdue_max_seconds.toFixed(0)} s · p95 ${backlog.overdue_p95_seconds.toFixed(0)} s · p50 ${backlog.overdue_p50_seconds.toFixed(0)} s`,
    `priced/min        ${snapshot.pricedLastMinute}`,
    `tokens (recent)   ${snapshot.tokens.active} active · ${snapshot.tokens.pending} pending · ${snapshot.tokens.dead} dead · ${backlog.dead_lettered_count} dead-lettered`,
    `failed calls/h    ${snapshot.failedInvocations} (cron → function requests that did not answer 2xx)`,
    "",
    `${pad("function", 15)}${pad("last run", 22)}${pad("outcome", 10)}${pad("last ok", 10)}error`,
    ...snapshot.functions.map((f) =>
      `${pad(f.name, 15)}${pad(f.started_at ? new Date(f.started_at).toISOString().slice(11, 19) + " UTC" : "never", 22)}` +
      `${pad(f.outcome, 10)}${pad(f.last_ok_age_s === null ? "never" : `${f.last_ok_age_s}s ago`, 10)}${f.error ?? ""}`
    ),
    "",
    "Ctrl-C stops everything this command started.",
  ];
  return lines.join("\n");
}
