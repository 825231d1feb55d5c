-- Health reads and alert state. Every read here is an index range whose cost follows what is wrong
-- (stale tokens, unprocessed rows, the last hour of calls, the last few runs), never the size of
-- history; where a range can grow large it is capped and the figure estimated past the cap, as
-- backlog() does.
--
--   health_queue()                       backlog() plus never-checked rows and the oldest of them
--   freshness(grace, fail_percent)       active tokens priced within their expected interval
--   run_health(functions, recent)        last success, last outcome and error streak per function
--   run_totals(function, window, keys)   chosen run counts of a function summed over a window (parse failures)
--   recent_calls(window, settle, min)    calls ingested vs. priced since (the silent-stage check), and
--                                        tickers called for several addresses within the window (copycats)
--   health_source_flow()                 the poller's counters of the last hour per enabled feed (null before they exist)
--   alert_state, ath_notifications       what was last announced, so a restart never re-sends
--
-- Every read function runs with jit = off (compiling the expressions of a query with a large
-- cost estimate took longer than running it: 25 ms of a 26 ms backlog read) and
-- plan_cache_mode = force_custom_plan (a generic plan of `created_at >= now() - $1` does not know
-- the window is an hour and scans the table).

-- When an active token is due to be priced again: its last price plus the refresh interval that
-- complete() gave it at that moment. A function of the row alone, hence indexable. `timestamptz +
-- interval` is only stable because of day and month units, which refresh_interval never returns.
-- Changing refresh_interval's cadences means `reindex index peakwatch.tokens_price_expected_idx`
-- (and its sample) in the same migration.
create function peakwatch.price_expected_by(p_created_at timestamptz, p_last_priced_at timestamptz)
returns timestamptz
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p_last_priced_at + peakwatch.refresh_interval('active', p_last_priced_at - p_created_at)
$$;

-- Stale active tokens are the first entries of this index, so counting them walks only them. The
-- included columns allow index-only walks where the visibility map permits.
create index tokens_price_expected_idx on peakwatch.tokens (peakwatch.price_expected_by(created_at, last_priced_at))
  include (created_at, last_priced_at) where status = 'active';
-- A fixed 1-in-64 sample of the same (by id, unrelated to staleness) for estimates past the cap.
create index tokens_price_expected_sample_idx on peakwatch.tokens (peakwatch.price_expected_by(created_at, last_priced_at))
  include (created_at, last_priced_at) where status = 'active' and id % 64 = 0;

-- Never-checked rows (complete() moves every checked row to priority 1 or 2), oldest first.
create index queue_unprocessed_idx on peakwatch.queue (enqueued_at) where priority = 0 and dead_lettered_at is null;

-- A partial run is alive (it priced what it could); only ok runs have an index so far.
create index runs_last_success_idx on peakwatch.runs (function_name, finished_at desc) where outcome in ('ok', 'partial');

-- New all-time highs of the last hour, for ATH notifications. ath_at only changes on a new high,
-- so the tracker's other updates of calls can stay HOT.
create index calls_ath_at_idx on peakwatch.calls (ath_at) where ath_at is not null;

-- backlog() and the never-checked rows in one round trip. The count walks at most 5,001 index
-- entries; past that the caller uses backlog()'s sampled due_new_count.
create function peakwatch.health_queue()
returns table (
  due_count bigint,
  due_new_count bigint,
  oldest_due_at timestamptz,
  overdue_max_seconds double precision,
  overdue_p50_seconds double precision,
  overdue_p95_seconds double precision,
  dead_lettered_count bigint,
  figures_exact boolean,
  unprocessed_count bigint,
  unprocessed_exact boolean,
  oldest_unprocessed_age_seconds double precision
)
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
declare
  c_limit constant bigint := 5000;
  v_count bigint;
  v_oldest timestamptz;
begin
  select count(*) into v_count from (
    select 1 from peakwatch.queue q where q.priority = 0 and q.dead_lettered_at is null limit c_limit + 1
  ) capped;
  select min(q.enqueued_at) into v_oldest from peakwatch.queue q where q.priority = 0 and q.dead_lettered_at is null;
  return query
    select b.due_count, b.due_new_count, b.oldest_due_at, b.overdue_max_seconds, b.overdue_p50_seconds,
           b.overdue_p95_seconds, b.dead_lettered_count, b.figures_exact,
           v_count, v_count <= c_limit, coalesce(extract(epoch from now() - v_oldest)::double precision, 0)
    from peakwatch.backlog() b;
end
$$;

-- The share of active tokens whose expected price time (plus p_grace) has not passed. Stale tokens
-- are counted exactly up to 4,000 (an index range over them alone); past that the 1-in-64 sample is
-- walked, and only as far as proves the share below p_fail_percent: past that point the figure is
-- an upper bound (figures_exact false) and the grade is fail either way. The active count is the
-- index's row estimate (autovacuum keeps it) once it is past 20,000.
create function peakwatch.freshness(p_grace interval default interval '2 minutes', p_fail_percent double precision default 80)
returns table (
  active_count bigint,
  stale_count bigint,
  fresh_percent double precision,
  oldest_expected_at timestamptz,
  figures_exact boolean,
  measured_at timestamptz
)
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
declare
  c_exact_stale constant bigint := 4000;
  c_exact_active constant bigint := 20000;
  c_sample constant integer := 64; -- must match the predicate of tokens_price_expected_sample_idx
  v_now timestamptz := now();
  v_cutoff timestamptz;
  v_estimate bigint;
  v_active bigint;
  v_stale bigint;
  v_sample_cap bigint;
  v_sampled bigint;
  v_oldest timestamptz;
  v_exact boolean := true;
begin
  if p_grace is null or p_grace < interval '0' then
    raise exception using errcode = '22023', message = 'freshness: grace must not be negative';
  end if;
  v_cutoff := v_now - p_grace;
  select c.reltuples::bigint into v_estimate from pg_catalog.pg_class c
  where c.oid = 'peakwatch.tokens_price_expected_idx'::regclass;
  if coalesce(v_estimate, -1) > c_exact_active then
    v_active := v_estimate;
  else
    select count(*) into v_active from (
      select 1 from peakwatch.tokens t where t.status = 'active' limit c_exact_active + 1
    ) capped;
    if v_active > c_exact_active then
      v_active := greatest(v_active, coalesce(v_estimate, 0));
    end if;
  end if;

  select count(*) into v_stale from (
    select 1 from peakwatch.tokens t
    where t.status = 'active' and peakwatch.price_expected_by(t.created_at, t.last_priced_at) < v_cutoff
    limit c_exact_stale + 1
  ) capped;
  if v_stale > c_exact_stale then
    v_exact := false;
    -- enough sampled stale rows to put the share below the fail line, and not one more
    v_sample_cap := greatest(100, ceil(v_active * (100 - coalesce(p_fail_percent, 80)) / 100.0 / c_sample)::bigint + 1);
    select count(*) into v_sampled from (
      select 1 from peakwatch.tokens t
      where t.status = 'active' and t.id % 64 = 0
        and peakwatch.price_expected_by(t.created_at, t.last_priced_at) < v_cutoff
      limit v_sample_cap
    ) capped;
    v_stale := greatest(v_sampled * c_sample, c_exact_stale + 1);
  end if;
  v_stale := least(v_stale, v_active);

  select min(peakwatch.price_expected_by(t.created_at, t.last_priced_at)) into v_oldest
  from peakwatch.tokens t where t.status = 'active';

  return query select
    v_active,
    v_stale,
    case when v_active = 0 then 100::double precision
         else 100 * (v_active - v_stale)::double precision / v_active end,
    v_oldest,
    v_exact,
    v_now;
end
$$;

-- Per function: the last ok/partial finish, the latest run, and over its last p_recent finished runs
-- the streak of errors ending at the latest one and the newest error text.
create function peakwatch.run_health(p_functions text[], p_recent integer default 10)
returns table (
  function_name text,
  last_success_at timestamptz,
  success_age_seconds double precision,
  last_started_at timestamptz,
  last_outcome text,
  consecutive_errors integer,
  recent_runs integer,
  last_error text,
  last_error_at timestamptz
)
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
begin
  if p_recent is null or p_recent not between 1 and 100 then
    raise exception using errcode = '22023', message = format('run_health: recent must be between 1 and 100 (got %s)', p_recent);
  end if;
  return query
    select
      f.name,
      ok.finished_at,
      extract(epoch from now() - ok.finished_at)::double precision,
      latest.started_at,
      latest.outcome,
      coalesce(streak.errors, 0),
      coalesce(streak.runs, 0),
      err.error,
      err.finished_at
    from unnest(p_functions) as f(name)
    left join lateral (
      select r.finished_at from peakwatch.runs r
      where r.function_name = f.name and r.outcome in ('ok', 'partial')
      order by r.finished_at desc
      limit 1
    ) ok on true
    left join lateral (
      select r.started_at, r.outcome from peakwatch.runs r
      where r.function_name = f.name
      order by r.started_at desc
      limit 1
    ) latest on true
    left join lateral (
      select
        count(*)::integer as runs,
        coalesce(min(x.n) filter (where x.outcome <> 'error') - 1, count(*))::integer as errors
      from (
        select y.outcome, row_number() over (order by y.started_at desc) as n
        from (
          select r.outcome, r.started_at from peakwatch.runs r
          where r.function_name = f.name and r.finished_at is not null
          order by r.started_at desc
          limit p_recent
        ) y
      ) x
    ) streak on true
    left join lateral (
      select y.error, y.finished_at from (
        select r.error, r.finished_at, r.started_at from peakwatch.runs r
        where r.function_name = f.name and r.finished_at is not null
        order by r.started_at desc
        limit p_recent
      ) y
      where y.error is not null
      order by y.started_at desc
      limit 1
    ) err on true;
end
$$;

-- The counts `p_keys` of one function's runs summed over a window (at most p_limit newest runs).
create function peakwatch.run_totals(p_function text, p_window interval, p_keys text[], p_limit integer default 5000)
returns table (runs bigint, error_runs bigint, totals jsonb, figures_exact boolean)
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
begin
  return query
    with recent as materialized (
      select r.outcome, r.counts from peakwatch.runs r
      where r.function_name = p_function and r.started_at >= now() - p_window
      order by r.started_at desc
      limit p_limit + 1
    )
    select
      (select count(*) from recent),
      (select count(*) from recent where recent.outcome = 'error'),
      coalesce((
        select jsonb_object_agg(k.key, (
          select coalesce(sum((recent.counts->>k.key)::numeric), 0) from recent
          where jsonb_typeof(recent.counts->k.key) = 'number'))
        from unnest(p_keys) as k(key)
      ), '{}'::jsonb),
      (select count(*) from recent) <= p_limit;
end
$$;

-- The newest calls (at most p_scan, by primary key: no scan of the window's calls, however many)
-- read two ways, over those ingested within p_window:
--   conversion: of the newest p_convert calls older than p_settle (the newest get time to be
--     priced), how many have their token priced since the call came in — inputs flowing with no
--     outputs is a silent stage. Only these calls are joined to tokens.
--   copycats: tickers (the call's, else the token's symbol) called for p_min_tokens or more distinct
--     tokens, as a JSON array of {ticker, tokens, addresses (up to 10)}.
-- figures_exact is false when the window held more calls than were read.
create function peakwatch.recent_calls(
  p_window interval,
  p_settle interval,
  p_min_tokens integer default 3,
  p_scan integer default 2000,
  p_convert integer default 300
)
returns table (
  calls_ingested bigint,
  calls_priced bigint,
  tokens_called bigint,
  tokens_priced bigint,
  oldest_unpriced_at timestamptz,
  figures_exact boolean,
  copycats jsonb
)
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
#variable_conflict use_column
declare
  v_since timestamptz := now() - p_window;
begin
  return query
    with newest as materialized (
      select c.id, c.token_id, c.created_at, c.ticker from peakwatch.calls c
      order by c.id desc
      limit p_scan
    ), recent as materialized (
      select n.* from newest n where n.created_at >= v_since
    ), settled as materialized (
      select r.token_id, r.created_at, coalesce(t.last_priced_at >= r.created_at, false) as priced
      from (
        select r.token_id, r.created_at from recent r
        where r.created_at < now() - p_settle
        order by r.id desc
        limit p_convert
      ) r
      join peakwatch.tokens t on t.id = r.token_id
    ), named as (
      select r.token_id,
             upper(ltrim(btrim(coalesce(r.ticker, (select t.symbol from peakwatch.tokens t where t.id = r.token_id))), '$')) as name
      from recent r
    ), crowded as (
      select n.name, count(distinct n.token_id) as tokens, (array_agg(distinct n.token_id))[1:10] as token_ids
      from named n
      where n.name is not null and n.name <> ''
      group by n.name
      having count(distinct n.token_id) >= p_min_tokens
      order by 2 desc, 1
      limit 50
    )
    select
      (select count(*) from settled),
      (select count(*) from settled s where s.priced),
      (select count(distinct s.token_id) from settled s),
      (select count(distinct s.token_id) from settled s where s.priced),
      (select min(s.created_at) from settled s where not s.priced),
      (select count(*) < p_scan or min(n.created_at) < v_since from newest n)
        and (select count(*) from settled) < p_convert,
      coalesce((
        select jsonb_agg(jsonb_build_object(
          'ticker', c.name,
          'tokens', c.tokens,
          'addresses', (select array_agg(t.chain || ':' || t.address order by t.id) from peakwatch.tokens t where t.id = any (c.token_ids))
        ) order by c.tokens desc, c.name)
        from crowded c), '[]'::jsonb);
end
$$;

-- Per enabled feed, its inputs over the last hour from the poller's per-minute counters
-- (peakwatch.source_counters: 60 rows a source by primary key), as a JSON array; null while that
-- table does not exist. Read dynamically so this migration does not pin the poller's columns; the
-- poller's source_flow view also joins each source's calls to tokens, which health does not need.
create function peakwatch.health_source_flow()
returns jsonb
language plpgsql
stable
set search_path = ''
set jit = off
set plan_cache_mode = force_custom_plan
as $$
declare
  v_flow jsonb;
begin
  if to_regclass('peakwatch.source_counters') is null then
    return null;
  end if;
  execute $sql$
    select coalesce(jsonb_agg(jsonb_build_object(
      'name', s.name, 'last_error', s.last_error,
      'polls_last_hour', coalesce(c.polls, 0), 'errors_last_hour', coalesce(c.errors, 0),
      'fetched_last_hour', coalesce(c.fetched, 0), 'calls_last_hour', coalesce(c.new_calls, 0),
      'rejected_last_hour', coalesce(c.rejected, 0)) order by s.name), '[]'::jsonb)
    from peakwatch.sources s
    left join lateral (
      select sum(x.polls) as polls, sum(x.errors) as errors, sum(x.fetched) as fetched,
             sum(x.new_calls) as new_calls, sum(x.rejected) as rejected
      from peakwatch.source_counters x
      where x.source_id = s.id and x.minute > now() - interval '1 hour'
    ) c on true
    where s.enabled and s.kind <> 'manual'
  $sql$ into v_flow;
  return v_flow;
end
$$;

-- One row per check (name, or name#component): the status last announced and since when. The
-- orchestrator's evaluation compares with it, so a restarted isolate never re-sends.
create table peakwatch.alert_state (
  check_key text primary key check (length(check_key) between 1 and 200),
  status text not null check (status in ('pass', 'warn', 'fail')),
  since timestamptz not null default now(),
  notified_at timestamptz,
  updated_at timestamptz not null default now()
);

-- The highest ATH multiple announced per call.
create table peakwatch.ath_notifications (
  call_id bigint primary key references peakwatch.calls (id) on delete cascade,
  multiple numeric not null check (multiple > 0),
  notified_at timestamptz not null default now()
);

revoke all on peakwatch.alert_state, peakwatch.ath_notifications from public, anon, authenticated, service_role;
revoke execute on all functions in schema peakwatch from public;
