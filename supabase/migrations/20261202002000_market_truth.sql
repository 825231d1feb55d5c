-- Market truth (issue 11): what one provider item or one feed item does to a token and the queue.
-- Idempotent (if not exists / or replace), so it can be pushed again onto a database that has it.
--
--   * record_checks takes a third outcome, `unpriceable` (listed but no sane price, or an absence not
--     every provider could confirm): checked at normal cadence, never a miss toward dead, never an
--     attempt. `no_pair` (absent from every provider, or known liquidity under the floor) stays the
--     only miss; dead after p_dead_after of them in a row.
--   * Sampling follows the call: tokens.last_called_at (newest call, kept by a trigger on calls) sets
--     the refresh cadence in complete(), so a month-old token called again now is young again.
--   * Honest entries: a call takes the token's price as entry only when it was observed at or before
--     called_at, within peakwatch.entry_tolerance() (default 5 minutes); otherwise the first price
--     after the call fills it, marked approximate with its observed time (call_performance).
--   * Poison feed items (a called_at Postgres cannot hold or before 2010, an entry price that
--     overflows ROI) are rejected with a reason in ingest_calls; the rest of the page goes in.

alter table peakwatch.tokens add column if not exists last_called_at timestamptz;
alter table peakwatch.calls
  add column if not exists entry_observed_at timestamptz,
  -- null while there is no entry; false when observed within the tolerance before the call (or sent by the caller)
  add column if not exists entry_approximate boolean;

update peakwatch.tokens t set last_called_at = k.newest
from (select token_id, max(least(called_at, now())) as newest from peakwatch.calls group by token_id) k
where k.token_id = t.id;
update peakwatch.calls set entry_approximate = true where entry_price_usd is not null and entry_approximate is null;

-- The entry tolerance: `alter database … set peakwatch.entry_tolerance = '2 minutes'` changes it.
create or replace function peakwatch.entry_tolerance()
returns interval
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('peakwatch.entry_tolerance', true), '')::interval, interval '5 minutes')
$$;

-- An observation is a call's exact entry when made at or before the call, within the tolerance.
create or replace function peakwatch.entry_on_time(p_observed_at timestamptz, p_called_at timestamptz)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_observed_at <= p_called_at and p_observed_at >= p_called_at - peakwatch.entry_tolerance()
$$;

-- Whether an observation becomes a call's entry: the first one does, and an exact one replaces an
-- approximate one (results arrive out of order), never the other way round.
create or replace function peakwatch.entry_replaced(p_entry numeric, p_approximate boolean, p_observed_at timestamptz, p_called_at timestamptz)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_entry is null or (p_approximate is true and peakwatch.entry_on_time(p_observed_at, p_called_at))
$$;

-- Statement-level: a page of 1,000 calls touches each token once. A call dated in the future (within
-- ingest's 5-minute allowance) counts from now.
create or replace function peakwatch.calls_touch_token()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update peakwatch.tokens t
  set last_called_at = greatest(t.last_called_at, n.newest)
  from (select token_id, max(least(called_at, now())) as newest from new_calls group by token_id) n
  where t.id = n.token_id and t.last_called_at is distinct from greatest(t.last_called_at, n.newest);
  return null;
end
$$;

drop trigger if exists calls_touch_token on peakwatch.calls;
create trigger calls_touch_token after insert on peakwatch.calls
  referencing new table as new_calls
  for each statement execute function peakwatch.calls_touch_token();

-- Cadence from the age of the token's newest call (its creation when it has none).
create or replace function peakwatch.complete(p_worker text, p_token_ids bigint[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform peakwatch.check_worker('complete', p_worker);
  perform peakwatch.check_batch('complete', p_token_ids);
  update peakwatch.queue q
  set due_at = now() + peakwatch.refresh_interval(t.status, now() - coalesce(t.last_called_at, t.created_at)) * (0.9 + random() * 0.2),
      priority = case when t.status = 'active' then 1 else 2 end,
      attempts = 0,
      last_error = null,
      claimed_by = null,
      claimed_at = null,
      updated_at = now()
  from peakwatch.tokens t
  where q.token_id = any (p_token_ids)
    and t.id = q.token_id
    -- a worker whose lease ran out and whose rows were claimed again does not overwrite the new lease
    and q.claimed_by = p_worker;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- A feed item that would fail the whole ingest statement, or null. Only what call_rows would cast.
create or replace function peakwatch.call_poison(p_item jsonb)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_text text;
  v_at timestamptz;
  v_price numeric;
begin
  if jsonb_typeof(p_item) is distinct from 'object' then
    return null;
  end if;
  v_text := p_item->>'called_at';
  if v_text ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$' then
    begin
      v_at := v_text::timestamptz;
    exception when data_exception then
      return 'called_at: not a date and time Postgres can hold (year 0, month 13, …)';
    end;
    if v_at < timestamptz '2010-01-01 00:00:00+00' then
      return 'called_at: before 2010';
    end if;
  end if;
  if jsonb_typeof(p_item->'entry_price_usd') = 'number' then
    v_price := (p_item->>'entry_price_usd')::numeric;
    if v_price > 0 and v_price < 1e-30 then
      return 'entry_price_usd: below 1e-30 USD (ROI would overflow)';
    end if;
    if v_price > 1e12 then
      return 'entry_price_usd: above 1e12 USD';
    end if;
  end if;
  return null;
end
$$;

-- A market cap of 0 or below is unknown, not a reason to refuse the call.
create or replace function peakwatch.call_sanitized(p_item jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case
    when jsonb_typeof(p_item) = 'object' and jsonb_typeof(p_item->'entry_market_cap_usd') = 'number'
      and (p_item->>'entry_market_cap_usd')::numeric <= 0
    then p_item - 'entry_market_cap_usd'
    else p_item
  end
$$;

create or replace function peakwatch.record_checks(p_worker text, p_checks jsonb, p_dead_after integer default 5)
returns table (token_id bigint, status text)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_held bigint[];
begin
  perform peakwatch.check_worker('record_checks', p_worker);
  if p_checks is null or jsonb_typeof(p_checks) <> 'array' then
    raise exception using errcode = '22023', message = 'record_checks: checks must be a JSON array';
  end if;
  if jsonb_array_length(p_checks) > 10000 then
    raise exception using errcode = '22023',
      message = format('record_checks: at most 10000 checks per call (got %s)', jsonb_array_length(p_checks));
  end if;
  if p_dead_after is null or p_dead_after < 1 then
    raise exception using errcode = '22023', message = 'record_checks: dead_after must be at least 1';
  end if;

  -- Lock the rows this worker holds; anything else (lease expired and re-claimed) is dropped.
  select coalesce(array_agg(locked.token_id order by locked.token_id), '{}') into v_held
  from (
    select q.token_id from peakwatch.queue q
    where q.token_id in (select (c->>'token_id')::bigint from jsonb_array_elements(p_checks) c)
      and q.claimed_by = p_worker
    order by q.token_id
    for update of q
  ) locked;

  if exists (
    select 1 from peakwatch.checks_of(p_checks, v_held) c
    where c.outcome not in ('priced', 'no_pair', 'unpriceable') or (c.outcome = 'priced' and not (c.price_usd > 0))
  ) then
    raise exception using errcode = '22023',
      message = 'record_checks: outcome must be priced (with price_usd > 0), no_pair or unpriceable';
  end if;

  update peakwatch.tokens t
  set status = 'active',
      -- results can arrive out of order (retries, concurrent trackers): current values only move forward in time
      price_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at then c.price_usd else t.price_usd end,
      market_cap_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at then nullif(greatest(c.market_cap_usd, 0), 0)
                            else t.market_cap_usd end,
      liquidity_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at
                           then case when c.liquidity_usd >= 0 then c.liquidity_usd end else t.liquidity_usd end,
      pair_address = coalesce(c.pair_address, t.pair_address),
      dex_id = coalesce(c.dex_id, t.dex_id),
      symbol = coalesce(t.symbol, c.symbol),
      name = coalesce(t.name, c.name),
      first_priced_at = least(t.first_priced_at, c.observed_at),
      last_priced_at = greatest(t.last_priced_at, c.observed_at),
      last_checked_at = now(),
      missing_checks = 0,
      last_error = null
  from peakwatch.checks_of(p_checks, v_held) c
  where t.id = c.token_id and c.outcome = 'priced';

  update peakwatch.tokens t
  set status = case
        when t.first_priced_at is null then 'pending'
        when t.status = 'dead' or t.missing_checks + 1 >= p_dead_after then 'dead'
        else t.status
      end,
      missing_checks = case when t.first_priced_at is null then 0 else t.missing_checks + 1 end,
      last_checked_at = now(),
      last_error = c.reason
  from peakwatch.checks_of(p_checks, v_held) c
  where t.id = c.token_id and c.outcome = 'no_pair';

  -- Listed but unpriceable: checked, not a miss and not an attempt. Listed is presence, so it ends a
  -- run of misses; an absence only some providers could confirm leaves the run as it is.
  update peakwatch.tokens t
  set last_checked_at = now(),
      last_error = c.reason,
      missing_checks = case when x.listed then 0 else t.missing_checks end
  from peakwatch.checks_of(p_checks, v_held) c
  join (
    select (e->>'token_id')::bigint as token_id, bool_and(coalesce((e->>'listed')::boolean, true)) as listed
    from jsonb_array_elements(p_checks) e
    where e->>'outcome' = 'unpriceable'
    group by 1
  ) x on x.token_id = c.token_id
  where t.id = c.token_id and c.outcome = 'unpriceable';

  -- ATH since the call only ever rises. The entry is the first price seen, exact when observed at or
  -- before the call within the tolerance, else approximate with its observed time; an exact one
  -- later (results arrive out of order) replaces an approximate one, never the other way round.
  update peakwatch.calls k
  set entry_price_usd = case when peakwatch.entry_replaced(k.entry_price_usd, k.entry_approximate, c.observed_at, k.called_at)
                             then c.price_usd else k.entry_price_usd end,
      entry_market_cap_usd = case when peakwatch.entry_replaced(k.entry_price_usd, k.entry_approximate, c.observed_at, k.called_at)
                                  then nullif(greatest(c.market_cap_usd, 0), 0) else k.entry_market_cap_usd end,
      entry_observed_at = case when peakwatch.entry_replaced(k.entry_price_usd, k.entry_approximate, c.observed_at, k.called_at)
                               then c.observed_at else k.entry_observed_at end,
      entry_approximate = case when peakwatch.entry_replaced(k.entry_price_usd, k.entry_approximate, c.observed_at, k.called_at)
                               then not peakwatch.entry_on_time(c.observed_at, k.called_at) else k.entry_approximate end,
      ath_at = case when c.observed_at >= k.called_at and (k.ath_price_usd is null or c.price_usd > k.ath_price_usd)
                    then c.observed_at else k.ath_at end,
      ath_price_usd = case when c.observed_at >= k.called_at then greatest(k.ath_price_usd, c.price_usd) else k.ath_price_usd end,
      ath_market_cap_usd = case when c.observed_at >= k.called_at then greatest(k.ath_market_cap_usd, nullif(greatest(c.market_cap_usd, 0), 0))
                                else k.ath_market_cap_usd end
  from peakwatch.checks_of(p_checks, v_held) c
  where k.token_id = c.token_id and c.outcome = 'priced';

  perform peakwatch.complete(p_worker, v_held);

  return query
    select t.id, t.status from peakwatch.tokens t where t.id = any (v_held) order by t.id;
end
$$;


create or replace function peakwatch.ingest_calls(
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
  v_calls jsonb;
  v_poison text[];
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

  -- Poison first: an item that would fail the whole statement (a date Postgres cannot hold, an entry
  -- price that overflows ROI) is swapped for an empty object, rejected below with its own reason;
  -- the rest of the page goes in and the cursor moves. A market cap of 0 or below is unknown (dropped).
  select
    coalesce(jsonb_agg(case when p.reason is null then p.item else '{}'::jsonb end order by p.ord), '[]'::jsonb),
    coalesce(array_agg(coalesce(p.reason, '') order by p.ord), '{}')
  into v_calls, v_poison
  from (
    select e.ord, peakwatch.call_sanitized(e.item) as item, peakwatch.call_poison(e.item) as reason
    from jsonb_array_elements(p_calls) with ordinality as e(item, ord)
  ) p;

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
    select distinct r.chain, r.address from peakwatch.call_rows(v_calls) r
    where r.problem is null
    order by r.chain, r.address
    on conflict (chain, address) do nothing
    returning id
  )
  select coalesce(array_agg(inserted.id), '{}') into v_new_tokens from inserted;

  -- A token that is already priced gives a new call its values at once: entry from the current price
  -- when the caller sent none and that price was observed at or before the call, within the entry
  -- tolerance (never after: a later price is not the entry; the tracker's next price fills it, marked
  -- approximate). ATH from an observation made after the call.
  with firsts as (
    select distinct on (r.external_id) r.*
    from peakwatch.call_rows(v_calls) r
    where r.problem is null
    order by r.external_id, r.i
  ), inserted as (
    insert into peakwatch.calls as k (
      source_id, external_id, token_id, ticker, group_name, called_at,
      entry_price_usd, entry_market_cap_usd, entry_observed_at, entry_approximate,
      ath_price_usd, ath_market_cap_usd, ath_at
    )
    select
      p_source_id, f.external_id, t.id, f.ticker, f.group_name, f.called_at,
      coalesce(f.entry_price_usd, case when o.on_time then t.price_usd end),
      coalesce(f.entry_market_cap_usd, case when o.on_time then nullif(t.market_cap_usd, 0) end),
      case when f.entry_price_usd is not null then f.called_at when o.on_time then t.last_priced_at end,
      case when f.entry_price_usd is not null or o.on_time then false end,
      case when t.last_priced_at >= f.called_at then t.price_usd end,
      case when t.last_priced_at >= f.called_at then nullif(t.market_cap_usd, 0) end,
      case when t.last_priced_at >= f.called_at and t.price_usd is not null then t.last_priced_at end
    from firsts f
    join peakwatch.tokens t on t.chain = f.chain and t.address = f.address
    cross join lateral (
      select coalesce(t.price_usd is not null
        and t.last_priced_at <= f.called_at
        and t.last_priced_at >= f.called_at - peakwatch.entry_tolerance(), false) as on_time
    ) o
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
    coalesce(array_agg(coalesce(nullif(v_poison[o.i + 1], ''), o.problem, '') order by o.i), '{}')
  into v_outcomes, v_reasons
  from (
    select r.i, r.external_id, r.problem,
      min(r.i) filter (where r.problem is null) over (partition by r.external_id) as first_i
    from peakwatch.call_rows(v_calls) r
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


-- Entries say how they were taken: approximate (observed after the call, or long before it) with the
-- time of the observation.
create or replace view peakwatch.call_performance
with (security_invoker = true)
as
select
  k.id as call_id,
  s.name as source,
  k.external_id,
  k.ticker,
  k.group_name,
  k.called_at,
  t.chain,
  t.address,
  t.status,
  k.entry_price_usd,
  k.entry_market_cap_usd,
  t.price_usd,
  t.market_cap_usd,
  t.last_priced_at,
  k.ath_price_usd,
  k.ath_market_cap_usd,
  k.ath_at,
  t.price_usd / nullif(k.entry_price_usd, 0) - 1 as roi,
  k.ath_price_usd / nullif(k.entry_price_usd, 0) - 1 as ath_roi,
  k.entry_approximate,
  k.entry_observed_at
from peakwatch.calls k
join peakwatch.tokens t on t.id = k.token_id
join peakwatch.sources s on s.id = k.source_id;

revoke all on peakwatch.call_performance from public, anon, authenticated;
revoke execute on all functions in schema peakwatch from public;
