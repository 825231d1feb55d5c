import postgres from "postgres";

export interface FillShape {
  tokens: number;
  /** Active tokens overdue for a price, each also a due queue row (the incident health exists for). */
  due: number;
  /** Of the due rows, never checked (priority 0). */
  dueNew: number;
  runs: number;
  calls: number;
  invocations: number;
  sources: number;
}

/**
 * Fills a migrated database in set-based statements, triggers off (addresses are given normalised
 * and queue rows are written directly with their final values), then VACUUM ANALYZE so the planner
 * and the visibility map look like a database that has been running for weeks.
 */
export async function fill(url: string, shape: FillShape, progress: (message: string) => void): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 5 });
  const dueEvery = Math.round(shape.tokens / shape.due);
  const newEvery = Math.round(shape.tokens / shape.dueNew);
  try {
    await sql`set session_replication_role = replica`;
    progress(`sources: ${shape.sources} feeds with a week of per-minute counters`);
    await sql`
      insert into peakwatch.sources (name, kind, poll_interval_seconds, enabled, last_polled_at, last_success_at)
      select 'bench-feed-' || s, 'http_feed', 60, true, now() - interval '20 seconds', now() - interval '20 seconds'
      from generate_series(1, ${shape.sources}::int) s`;
    await sql`
      insert into peakwatch.source_counters (source_id, minute, polls, errors, fetched, new_calls, duplicates, rejected, new_tokens)
      select s.id, date_trunc('minute', now()) - make_interval(mins => m), 1, 0, 5, 1, 4, 0, 1
      from peakwatch.sources s cross join generate_series(0, 7 * 1440 - 1) m
      where s.name like 'bench-feed-%'`;
    progress(`calls: ${shape.calls.toLocaleString("en-US")} over 60 days, in ingestion order`);
    await sql`
      insert into peakwatch.calls (source_id, external_id, token_id, ticker, called_at, created_at, entry_price_usd)
      select (select min(id) from peakwatch.sources where name like 'bench-feed-%') + g % ${shape.sources}::int,
        'bench-call-' || g, 1 + (g::bigint * 7919) % ${shape.tokens}::int, 'T' || ((g::bigint * 7919) % 50000),
        now() - make_interval(secs => (${shape.calls}::int - g) * (60 * 86400.0 / ${shape.calls}::int)),
        now() - make_interval(secs => (${shape.calls}::int - g) * (60 * 86400.0 / ${shape.calls}::int)),
        0.001
      from generate_series(1, ${shape.calls}::int) g`;
    progress(`runs: ${shape.runs.toLocaleString("en-US")} (tracker, poller, orchestrator, token-refresh), one every 1.2 s, 1 % errors`);
    await sql`
      insert into peakwatch.runs (function_name, trigger, started_at, finished_at, outcome, counts, error)
      select (array['tracker', 'tracker', 'tracker', 'poller', 'orchestrator', 'token-refresh'])[1 + g % 6], 'cron',
        now() - make_interval(secs => (${shape.runs}::int - g) * 1.2 + 2),
        now() - make_interval(secs => (${shape.runs}::int - g) * 1.2),
        case when g % 100 = 0 then 'error' when g % 50 = 1 then 'partial' else 'ok' end,
        jsonb_build_object('claimed', 90, 'priced', 88, 'parseFailures', (g % 97 = 0)::int, 'providerCalls', 2, 'dexscreenerCalls', 2, 'durationMs', 1500),
        case when g % 100 = 0 then 'bench: upstream timeout' end
      from generate_series(1, ${shape.runs}::int) g`;
    progress(`invocations: ${shape.invocations.toLocaleString("en-US")} over 7 days, 1 % failed`);
    await sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome, status_code, error, resolved_at)
      select g, (array['tracker', 'poller', 'orchestrator', 'token-refresh'])[1 + g % 4],
        now() - make_interval(secs => (${shape.invocations}::int - g) * (7 * 86400.0 / ${shape.invocations}::int)),
        case when g % 100 = 0 then 'failed' else 'ok' end, case when g % 100 = 0 then 500 else 200 end,
        case when g % 100 = 0 then 'HTTP 500' end, now()
      from generate_series(1, ${shape.invocations}::int) g`;
    await sql`
      insert into peakwatch.credential_status (name, strategy, expires_at, last_checked_at, last_outcome)
      values ('bench-a', 'oauth2_client_credentials', now() + interval '50 minutes', now(), 'fresh'),
             ('bench-b', 'oauth2_refresh_token', now() + interval '3 hours', now(), 'refreshed')`;
    await sql`vacuum analyze peakwatch.runs, peakwatch.calls, peakwatch.invocations, peakwatch.source_counters`;
    // Tokens and queue last: their freshness and due times are relative to now, and the bench
    // should start measuring before they drift.
    progress(`tokens: ${shape.tokens.toLocaleString("en-US")} (90 % active, 1 in ${dueEvery} due and, when active, overdue for a price)`);
    await sql`
      insert into peakwatch.tokens (chain, address, symbol, status, price_usd, market_cap_usd, first_priced_at, last_priced_at, last_checked_at, created_at, updated_at)
      select 'solana', 'Bench' || lpad(g::text, 9, '0'), 'T' || (g % 50000),
        x.status,
        case when x.status <> 'pending' then 0.001 end,
        case when x.status <> 'pending' then 100000 end,
        case when x.status <> 'pending' then x.created_at + interval '1 minute' end,
        case
          when x.status = 'pending' then null
          -- overdue: its next price was due 5 to 60 minutes ago
          when x.h % ${dueEvery} = 0 then now() - peakwatch.refresh_interval('active', now() - x.created_at) - make_interval(secs => 300 + (g % 3300))
          else now() - peakwatch.refresh_interval('active', now() - x.created_at) * ((g % 50) / 100.0)
        end,
        now(), x.created_at, now()
      from generate_series(1, ${shape.tokens}::int) g
      cross join lateral (
        -- hashed, not g % n: backlog() and freshness() estimate from id % 16 and id % 64 samples,
        -- which a pattern in g would bias
        select abs(hashint4(g)) as h,
               case abs(hashint4(g # 1234567)) % 20 when 0 then 'pending' when 1 then 'dead' else 'active' end as status,
               -- ages spread over 60 days, the newest thousand within the last hour
               now() - make_interval(secs => case when g > ${shape.tokens - 1000}::int then (${shape.tokens}::int - g) * 3.6
                                                  else 3600 + (${shape.tokens}::int - g) * 5.18 end) as created_at
      ) x`;
    progress(`queue: one row per token, ${shape.due.toLocaleString("en-US")} due (${shape.dueNew.toLocaleString("en-US")} never checked), 1 in 2,000 dead-lettered`);
    await sql`
      insert into peakwatch.queue (token_id, chain, priority, due_at, attempts, dead_lettered_at, enqueued_at, updated_at)
      select t.id, t.chain,
        case when abs(hashint4(t.id::int)) % ${newEvery} = 0 then 0 when t.status = 'active' then 1 else 2 end,
        case when abs(hashint4(t.id::int)) % ${dueEvery} = 0 then now() - make_interval(secs => 300 + (t.id % 3300))
             else now() + make_interval(secs => 1200 + t.id % 900) end,
        0,
        case when t.id % 2000 = 7 then now() - interval '30 minutes' end,
        t.created_at, now()
      from peakwatch.tokens t`;
    await sql`set session_replication_role = origin`;
    progress("vacuum analyze");
    await sql`vacuum analyze peakwatch.tokens, peakwatch.queue, peakwatch.sources, peakwatch.credential_status`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function rowCounts(url: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<Record<string, string>[]>`
      select
        (select count(*) from peakwatch.tokens) as tokens,
        (select count(*) from peakwatch.tokens where status = 'active') as active_tokens,
        (select count(*) from peakwatch.queue) as queue,
        (select count(*) from peakwatch.queue where dead_lettered_at is null and due_at <= now()) as due,
        (select count(*) from peakwatch.queue where priority = 0 and dead_lettered_at is null) as never_checked,
        (select count(*) from peakwatch.runs) as runs,
        (select count(*) from peakwatch.calls) as calls,
        (select count(*) from peakwatch.invocations) as invocations,
        (select count(*) from peakwatch.source_counters) as source_counters`;
    return Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)]));
  } finally {
    await sql.end({ timeout: 1 });
  }
}
