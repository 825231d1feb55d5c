-- Poller: sources are claimed, calls ingested exactly once, polls finished — one SQL function per
-- transition, a batch per round trip. Per-source counters and copycat flags are data health reads.
--
--   claim_sources(n, lease, name)    due enabled sources (or one by name), leased by pushing next_poll_at
--   ingest_calls(source, calls, …)   tokens + calls + counters + cursor in one transaction, outcome per row
--   finish_poll(source, outcome, …)  last poll / success / error, next poll, poll and error counters

alter table peakwatch.sources add column last_error_at timestamptz;

-- Inputs of a source per minute. Health sums the last 60 rows of a source: cost follows the window,
-- never the history of calls. Rows older than a week are pruned by pg_cron.
create table peakwatch.source_counters (
  source_id bigint not null references peakwatch.sources (id) on delete cascade,
  minute timestamptz not null,
  polls integer not null default 0,
  errors integer not null default 0,
  fetched integer not null default 0,
  new_calls integer not null default 0,
  duplicates integer not null default 0,
  rejected integer not null default 0,
  new_tokens integer not null default 0,
  copycats integer not null default 0,
  primary key (source_id, minute)
);

-- A ticker called by 3 or more distinct tokens within an hour: each token of such a cluster, once.
create table peakwatch.copycat_tokens (
  ticker text not null,
  token_id bigint not null references peakwatch.tokens (id) on delete cascade,
  -- called_at of the earliest call of the first crowded hour this token was found in
  window_start timestamptz not null,
  flagged_at timestamptz not null default now(),
  primary key (ticker, token_id)
);
create index copycat_tokens_token_idx on peakwatch.copycat_tokens (token_id);

-- Outputs of a source: its calls of the last hour, by index range.
create index calls_source_created_idx on peakwatch.calls (source_id, created_at);
-- Copycat windows: calls of one ticker around a time, by index range.
create index calls_ticker_called_idx on peakwatch.calls (upper(ticker), called_at) where ticker is not null;

-- Why an address cannot be a token on `chain`, or null when it can. EVM chains take 0x + 40 hex,
-- Solana base58 of 32 to 44 characters; other chains (sui, ton, tron, …) anything printable.
create function peakwatch.address_problem(p_chain text, p_address text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_address is null or btrim(p_address) = '' then 'address is missing'
    when p_chain = any (array[
        'ethereum', 'bsc', 'base', 'arbitrum', 'optimism', 'polygon', 'avalanche', 'fantom', 'cronos',
        'linea', 'blast', 'scroll', 'mantle', 'celo', 'pulsechain', 'zksync', 'abstract', 'sonic',
        'berachain', 'unichain', 'hyperevm', 'monad', 'ink', 'worldchain', 'soneium', 'apechain'])
      and btrim(p_address) !~ '^0[xX][0-9a-fA-F]{40}$'
      then 'not an EVM address (0x and 40 hex digits)'
    when p_chain = 'solana' and btrim(p_address) !~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'
      then 'not a Solana address (base58, 32 to 44 characters)'
    when btrim(p_address) !~ '^[!-~]{3,128}$'
      then 'not an address (3 to 128 printable characters without spaces)'
  end
$$;

-- The calls of a batch as rows, normalised, each with the first problem that keeps it out (or null).
-- Items are read defensively (anything JSON), so one bad row never fails the batch.
create function peakwatch.call_rows(p_calls jsonb)
returns table (
  i integer,
  external_id text,
  chain text,
  address text,
  ticker text,
  group_name text,
  called_at timestamptz,
  entry_price_usd numeric,
  entry_market_cap_usd numeric,
  problem text
)
language sql
stable
set search_path = ''
as $$
  select
    r.i, r.external_id, r.chain, peakwatch.normalize_address(r.address), r.ticker, r.group_name,
    case when r.called_at_ok then r.called_at_text::timestamptz end,
    case when r.price_ok then (r.item->>'entry_price_usd')::numeric end,
    case when r.cap_ok then (r.item->>'entry_market_cap_usd')::numeric end,
    case
      when jsonb_typeof(r.item) is distinct from 'object' then 'call: not a JSON object'
      when r.external_id is null or r.external_id = '' then 'external_id: missing'
      when length(r.external_id) > 200 then 'external_id: longer than 200 characters'
      when r.chain is null or r.chain !~ '^[a-z0-9][a-z0-9_-]{0,31}$' then 'chain: not a chain id'
      when peakwatch.address_problem(r.chain, r.address) is not null
        then 'address: ' || peakwatch.address_problem(r.chain, r.address)
      when not r.called_at_ok then 'called_at: not an ISO 8601 timestamp with a time zone'
      when r.called_at_text::timestamptz > now() + interval '5 minutes' then 'called_at: in the future'
      when not r.price_ok then 'entry_price_usd: not a positive number'
      when not r.cap_ok then 'entry_market_cap_usd: not a positive number'
    end
  from (
    select
      (e.ord - 1)::integer as i,
      e.item,
      btrim(e.item->>'external_id') as external_id,
      lower(btrim(e.item->>'chain')) as chain,
      e.item->>'address' as address,
      nullif(left(ltrim(btrim(e.item->>'ticker'), '$'), 64), '') as ticker,
      nullif(left(btrim(e.item->>'group'), 200), '') as group_name,
      e.item->>'called_at' as called_at_text,
      coalesce(e.item->>'called_at' ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$', false)
        as called_at_ok,
      -- CASE, not OR: only CASE fixes the order, so the cast never sees a string
      case coalesce(jsonb_typeof(e.item->'entry_price_usd'), 'null')
        when 'null' then true
        when 'number' then (e.item->>'entry_price_usd')::numeric > 0
        else false end as price_ok,
      case coalesce(jsonb_typeof(e.item->'entry_market_cap_usd'), 'null')
        when 'null' then true
        when 'number' then (e.item->>'entry_market_cap_usd')::numeric > 0
        else false end as cap_ok
    from jsonb_array_elements(p_calls) with ordinality as e(item, ord)
  ) r
$$;

create function peakwatch.claim_sources(p_limit integer, p_lease interval, p_name text default null)
returns table (
  id bigint,
  name text,
  kind text,
  config jsonb,
  cursor text,
  poll_interval_seconds integer
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = '22023',
      message = format('claim_sources: n must be between 1 and 1000 (got %s)', coalesce(p_limit::text, 'null'));
  end if;
  if p_lease is null or p_lease <= interval '0' or p_lease > interval '1 hour' then
    raise exception using errcode = '22023',
      message = format('claim_sources: lease must be positive and at most 1 hour (got %s)', coalesce(p_lease::text, 'null'));
  end if;

  if p_name is not null then
    -- Asked for by name: polled now, due or not, enabled or not.
    return query
      update peakwatch.sources s
      set next_poll_at = now() + p_lease
      where s.name = p_name
      returning s.id, s.name, s.kind, s.config, s.cursor, s.poll_interval_seconds;
    return;
  end if;

  -- The lease keeps the next scheduled poller off a source while this one polls it.
  return query
    with picked as (
      select s.id from peakwatch.sources s
      where s.enabled and s.kind <> 'manual' and s.next_poll_at <= now()
      order by s.next_poll_at
      limit p_limit
      for update skip locked
    )
    update peakwatch.sources s
    set next_poll_at = now() + p_lease
    from picked
    where s.id = picked.id
    returning s.id, s.name, s.kind, s.config, s.cursor, s.poll_interval_seconds;
end
$$;

-- p_calls: jsonb array of {"external_id", "chain", "address", "ticker", "group", "called_at",
-- "entry_price_usd", "entry_market_cap_usd"}. Tokens upsert on (chain, address), calls on
-- (source, external_id); nothing that exists is changed, so the same batch twice is a no-op.
-- p_cursor, when given, becomes the source's cursor in the same transaction — but only while the
-- cursor is still p_expected_cursor (what this poll started from); otherwise another poller moved
-- it, the rows still go in and cursor_conflict says so. p_unreadable: items the caller could not
-- parse at all, counted as fetched and rejected. outcomes/reasons: one entry per p_calls element,
-- in order: new, duplicate or rejected, with the reason as "<field>: <problem>" ('' when accepted).
create function peakwatch.ingest_calls(
  p_source_id bigint,
  p_calls jsonb,
  p_cursor text default null,
  p_expected_cursor text default null,
  p_unreadable integer default 0
)
returns table (
  new_calls integer,
  duplicates integer,
  rejected integer,
  new_tokens integer,
  copycats integer,
  cursor_conflict boolean,
  outcomes text[],
  reasons text[]
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_cursor text;
  v_new_tokens bigint[];
  v_new_ids text[];
  v_called_tokens bigint[];
  v_outcomes text[];
  v_reasons text[];
  v_new integer;
  v_duplicates integer;
  v_rejected integer;
  v_copycats integer;
  v_conflict boolean := false;
begin
  if p_calls is null or jsonb_typeof(p_calls) <> 'array' then
    raise exception using errcode = '22023', message = 'ingest_calls: calls must be a JSON array';
  end if;
  if jsonb_array_length(p_calls) > 10000 then
    raise exception using errcode = '22023',
      message = format('ingest_calls: at most 10000 calls per call (got %s)', jsonb_array_length(p_calls));
  end if;
  if p_unreadable is null or p_unreadable < 0 then
    raise exception using errcode = '22023', message = 'ingest_calls: unreadable must not be negative';
  end if;

  -- One ingest per source at a time: concurrent pollers of a source queue up here, and the cursor
  -- compared below is the latest committed one.
  select s.cursor into v_cursor from peakwatch.sources s where s.id = p_source_id for update;
  if not found then
    raise exception using errcode = 'P0002', message = format('ingest_calls: source %s does not exist', p_source_id);
  end if;

  -- Sorted, so two batches sharing tokens take their row locks in the same order (no deadlock).
  -- An insert that meets a concurrent uncommitted one waits for it, then does nothing.
  with inserted as (
    insert into peakwatch.tokens (chain, address)
    select distinct r.chain, r.address from peakwatch.call_rows(p_calls) r
    where r.problem is null
    order by r.chain, r.address
    on conflict (chain, address) do nothing
    returning id
  )
  select coalesce(array_agg(inserted.id), '{}') into v_new_tokens from inserted;

  -- A token that is already priced gives a new call its values at once: entry from the current
  -- price when the caller sent none, ATH from an observation made after the call.
  with firsts as (
    select distinct on (r.external_id) r.*
    from peakwatch.call_rows(p_calls) r
    where r.problem is null
    order by r.external_id, r.i
  ), inserted as (
    insert into peakwatch.calls as k (
      source_id, external_id, token_id, ticker, group_name, called_at,
      entry_price_usd, entry_market_cap_usd, ath_price_usd, ath_market_cap_usd, ath_at
    )
    select
      p_source_id, f.external_id, t.id, f.ticker, f.group_name, f.called_at,
      coalesce(f.entry_price_usd, t.price_usd),
      coalesce(f.entry_market_cap_usd, nullif(t.market_cap_usd, 0)),
      case when t.last_priced_at >= f.called_at then t.price_usd end,
      case when t.last_priced_at >= f.called_at then nullif(t.market_cap_usd, 0) end,
      case when t.last_priced_at >= f.called_at and t.price_usd is not null then t.last_priced_at end
    from firsts f
    join peakwatch.tokens t on t.chain = f.chain and t.address = f.address
    order by f.external_id
    on conflict (source_id, external_id) do nothing
    returning k.external_id, k.token_id
  )
  select coalesce(array_agg(inserted.external_id), '{}'), coalesce(array_agg(inserted.token_id), '{}')
  into v_new_ids, v_called_tokens
  from inserted;

  select
    coalesce(array_agg(case
      when o.problem is not null then 'rejected'
      when o.i = o.first_i and o.external_id = any (v_new_ids) then 'new'
      else 'duplicate' end order by o.i), '{}'),
    -- '' rather than NULL for accepted rows: postgres.js reads a NULL array element as the string 'NULL'
    coalesce(array_agg(coalesce(o.problem, '') order by o.i), '{}')
  into v_outcomes, v_reasons
  from (
    select r.i, r.external_id, r.problem,
      min(r.i) filter (where r.problem is null) over (partition by r.external_id) as first_i
    from peakwatch.call_rows(p_calls) r
  ) o;
  v_new := cardinality(v_new_ids);
  v_rejected := cardinality(array_positions(v_outcomes, 'rejected'));
  v_duplicates := cardinality(v_outcomes) - v_new - v_rejected;

  -- A fresh call of a token we already track asks for fresh values: pull it forward (new tokens
  -- are already queued at top priority by the tokens trigger).
  perform peakwatch.enqueue(
    array(select unnest(v_called_tokens) except select unnest(v_new_tokens)),
    1::smallint,
    now()
  );

  -- Copycats: a window of an hour starting at some call of the ticker and holding a new call,
  -- with 3 or more distinct tokens in it, flags each of them. Per-ticker locks, taken in order,
  -- make concurrent ingests of one ticker see each other's committed calls.
  perform pg_advisory_xact_lock(hashtextextended('peakwatch.copycat:' || t.ticker, 0))
  from (
    select distinct upper(k.ticker) as ticker from peakwatch.calls k
    where k.source_id = p_source_id and k.external_id = any (v_new_ids) and k.ticker is not null
    order by 1
  ) t;
  with fresh as (
    select upper(k.ticker) as ticker, k.called_at from peakwatch.calls k
    where k.source_id = p_source_id and k.external_id = any (v_new_ids) and k.ticker is not null
  ), windows as (
    select distinct f.ticker, o.called_at as start_at
    from fresh f
    join peakwatch.calls o
      on upper(o.ticker) = f.ticker and o.called_at between f.called_at - interval '1 hour' and f.called_at
  ), members as (
    select w.ticker, w.start_at, m.token_id
    from windows w
    join peakwatch.calls m
      on upper(m.ticker) = w.ticker and m.called_at between w.start_at and w.start_at + interval '1 hour'
  ), crowded as (
    select m.ticker, m.start_at from members m
    group by m.ticker, m.start_at
    having count(distinct m.token_id) >= 3
  ), flagged as (
    insert into peakwatch.copycat_tokens (ticker, token_id, window_start)
    select m.ticker, m.token_id, min(m.start_at)
    from members m
    join crowded c on c.ticker = m.ticker and c.start_at = m.start_at
    group by m.ticker, m.token_id
    on conflict on constraint copycat_tokens_pkey do nothing
    returning 1
  )
  select count(*)::integer into v_copycats from flagged;

  if p_cursor is not null then
    if v_cursor is not distinct from p_expected_cursor then
      update peakwatch.sources s set cursor = p_cursor where s.id = p_source_id;
    else
      v_conflict := true;
    end if;
  end if;

  insert into peakwatch.source_counters as c (
    source_id, minute, fetched, new_calls, duplicates, rejected, new_tokens, copycats
  ) values (
    p_source_id, date_trunc('minute', now()), jsonb_array_length(p_calls) + p_unreadable,
    v_new, v_duplicates, v_rejected + p_unreadable, cardinality(v_new_tokens), v_copycats
  )
  on conflict on constraint source_counters_pkey do update
  set fetched = c.fetched + excluded.fetched,
      new_calls = c.new_calls + excluded.new_calls,
      duplicates = c.duplicates + excluded.duplicates,
      rejected = c.rejected + excluded.rejected,
      new_tokens = c.new_tokens + excluded.new_tokens,
      copycats = c.copycats + excluded.copycats;

  return query select v_new, v_duplicates, v_rejected, cardinality(v_new_tokens), v_copycats, v_conflict, v_outcomes, v_reasons;
end
$$;

-- ok: clean poll (clears last_error). partial: the source answered and its readable calls went in,
-- with something wrong (unreadable items, a cursor that went backwards). error: nothing usable.
-- p_more: more is waiting upstream, so the source is due again at once instead of after its interval.
create function peakwatch.finish_poll(
  p_source_id bigint,
  p_outcome text,
  p_error text default null,
  p_more boolean default false
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_outcome is null or p_outcome not in ('ok', 'partial', 'error') then
    raise exception using errcode = '22023',
      message = format('finish_poll: outcome must be ok, partial or error (got %s)', coalesce(p_outcome, 'null'));
  end if;
  if p_outcome <> 'ok' and (p_error is null or p_error = '') then
    raise exception using errcode = '22023', message = format('finish_poll: a %s poll needs an error message', p_outcome);
  end if;

  update peakwatch.sources s
  set last_polled_at = now(),
      next_poll_at = case when coalesce(p_more, false) and p_outcome <> 'error' then now()
                          else now() + make_interval(secs => s.poll_interval_seconds) end,
      last_success_at = case when p_outcome <> 'error' then now() else s.last_success_at end,
      last_error = case when p_outcome = 'ok' then null else left(p_error, 2000) end,
      last_error_at = case when p_outcome = 'ok' then s.last_error_at else now() end
  where s.id = p_source_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('finish_poll: source %s does not exist', p_source_id);
  end if;

  insert into peakwatch.source_counters as c (source_id, minute, polls, errors)
  values (p_source_id, date_trunc('minute', now()), 1, case when p_outcome = 'error' then 1 else 0 end)
  on conflict on constraint source_counters_pkey do update
  set polls = c.polls + excluded.polls, errors = c.errors + excluded.errors;
end
$$;

-- Inputs against outputs per source over the last hour: what came in (counters) and how many of
-- those calls' tokens have been priced since (calls by (source_id, created_at), bounded by the hour).
-- Inputs flowing while outputs stay at zero is a silent stage.
create view peakwatch.source_flow
with (security_invoker = true)
as
select
  s.id as source_id,
  s.name,
  s.kind,
  s.enabled,
  s.last_polled_at,
  s.last_success_at,
  s.last_error,
  s.last_error_at,
  coalesce(i.polls, 0) as polls_last_hour,
  coalesce(i.errors, 0) as errors_last_hour,
  coalesce(i.fetched, 0) as fetched_last_hour,
  coalesce(i.new_calls, 0) as calls_last_hour,
  coalesce(i.duplicates, 0) as duplicates_last_hour,
  coalesce(i.rejected, 0) as rejected_last_hour,
  coalesce(i.new_tokens, 0) as new_tokens_last_hour,
  o.calls_priced as calls_priced_last_hour,
  o.tokens as tokens_called_last_hour,
  o.tokens_priced as tokens_priced_last_hour,
  o.oldest_unpriced_call_at
from peakwatch.sources s
left join lateral (
  select sum(c.polls)::bigint as polls, sum(c.errors)::bigint as errors, sum(c.fetched)::bigint as fetched,
    sum(c.new_calls)::bigint as new_calls, sum(c.duplicates)::bigint as duplicates,
    sum(c.rejected)::bigint as rejected, sum(c.new_tokens)::bigint as new_tokens
  from peakwatch.source_counters c
  where c.source_id = s.id and c.minute > now() - interval '1 hour'
) i on true
cross join lateral (
  select
    count(*) filter (where t.last_priced_at is not null) as calls_priced,
    count(distinct k.token_id) as tokens,
    count(distinct k.token_id) filter (where t.last_priced_at is not null) as tokens_priced,
    min(k.created_at) filter (where t.last_priced_at is null) as oldest_unpriced_call_at
  from peakwatch.calls k
  join peakwatch.tokens t on t.id = k.token_id
  where k.source_id = s.id and k.created_at > now() - interval '1 hour'
) o;

create view peakwatch.copycat_tickers
with (security_invoker = true)
as
select
  c.ticker,
  count(*)::integer as tokens,
  min(c.window_start) as first_window_start,
  max(c.flagged_at) as last_flagged_at,
  array_agg(t.chain || ':' || t.address order by t.chain, t.address) as addresses
from peakwatch.copycat_tokens c
join peakwatch.tokens t on t.id = c.token_id
group by c.ticker;

revoke all on peakwatch.source_counters, peakwatch.copycat_tokens from public, anon, authenticated, service_role;
revoke all on peakwatch.source_flow, peakwatch.copycat_tickers from public, anon, authenticated, service_role;
revoke execute on all functions in schema peakwatch from public;

do $$
begin
  if to_regclass('cron.job') is null then
    raise notice 'no pg_cron in database %: source counter pruning not scheduled here', current_database();
    return;
  end if;
  perform cron.schedule('peakwatch-prune-source-counters', '41 3 * * *',
    $job$delete from peakwatch.source_counters where minute < now() - interval '7 days'$job$);
end
$$;
