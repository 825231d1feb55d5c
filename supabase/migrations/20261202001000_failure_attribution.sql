-- Failure attribution (issue 12): a provider outage is the provider's fault, not the token's.
-- Every statement is safe to run twice (the file may meet a database that already has it).
--
--   queue.last_failure_kind   'provider' (the upstream was unreachable, refusing or throttling
--                             everyone: no attempt counted) or 'poison' (the token's own failure:
--                             counts toward dead-letter). Null when the row has no last_error.
--   provider_wide_error(text) recognises the error texts of provider-wide failures, for rows written
--                             by code that did not say which kind it was (and for existing rows).
--   fail(..., kinds, delay)   provider failures come back after a short fixed delay with attempts
--                             untouched; poison ones back off (capped at 5 minutes by default) and
--                             dead-letter after max attempts.
--   requeue_dead_letters      provider dead letters return at once; poison ones after the cool-down.
--   backlog()                 dead_lettered_count counts poison dead letters only.
--   return_provider_failures() gives back what an outage took from rows already in the database.

alter table peakwatch.queue
  add column if not exists last_failure_kind text check (last_failure_kind in ('provider', 'poison'));

comment on column peakwatch.queue.last_failure_kind is
  'Whose fault last_error was: provider (no attempt counted) or poison (counts toward dead-letter).';

-- A success clears last_error (complete, record_checks); the kind goes with it. The WHEN clause keeps
-- every other update of the hot queue table free of a trigger call.
create or replace function peakwatch.queue_clear_failure_kind()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.last_failure_kind := null;
  return new;
end
$$;

drop trigger if exists queue_clear_failure_kind on peakwatch.queue;
create trigger queue_clear_failure_kind before update of last_error on peakwatch.queue
  for each row when (new.last_error is null and new.last_failure_kind is not null)
  execute function peakwatch.queue_clear_failure_kind();

-- True when every part of an error text (parts joined by '; ', one per provider asked) is a failure
-- of the provider as a whole: network errors, timeouts, 5xx, 429, an open breaker, our own rate
-- limit running out. The tracker says the kind itself; this reads texts written without one.
create or replace function peakwatch.provider_wide_error(p_error text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(p_error, '') <> '' and not exists (
    select 1 from regexp_split_to_table(p_error, '; ') as part(text)
    where part.text !~* '(network error|timeout|timed out|circuit open|upstream answered (5[0-9]{2}|429)|rate limited|no rate-limit slot)'
  )
$$;

drop function if exists peakwatch.fail(text, bigint[], text[], integer, interval, interval);

create or replace function peakwatch.fail(
  p_worker text,
  p_token_ids bigint[],
  p_errors text[],
  p_max_attempts integer default 8,
  p_base interval default interval '15 seconds',
  p_cap interval default interval '5 minutes',
  -- one of 'provider' | 'poison' per token id; null (or a null entry) reads the kind from the error text
  p_kinds text[] default null,
  p_provider_delay interval default interval '15 seconds'
)
returns table (token_id bigint, attempts integer, due_at timestamptz, dead_lettered boolean, kind text)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform peakwatch.check_worker('fail', p_worker);
  perform peakwatch.check_batch('fail', p_token_ids);
  if p_errors is null or cardinality(p_errors) <> cardinality(p_token_ids) then
    raise exception using errcode = '22023',
      message = format('fail: errors must have one entry per token id (%s ids, %s errors)',
        cardinality(p_token_ids), coalesce(cardinality(p_errors)::text, 'null'));
  end if;
  if p_kinds is not null and cardinality(p_kinds) <> cardinality(p_token_ids) then
    raise exception using errcode = '22023',
      message = format('fail: kinds must have one entry per token id (%s ids, %s kinds)', cardinality(p_token_ids), cardinality(p_kinds));
  end if;
  if p_kinds is not null and exists (select 1 from unnest(p_kinds) k where k is not null and k not in ('provider', 'poison')) then
    raise exception using errcode = '22023', message = 'fail: a kind must be provider or poison';
  end if;
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception using errcode = '22023', message = 'fail: max attempts must be at least 1';
  end if;
  if p_base is null or p_base <= interval '0' or p_cap is null or p_cap < p_base then
    raise exception using errcode = '22023', message = 'fail: base must be positive and cap at least base';
  end if;
  if p_provider_delay is null or p_provider_delay < interval '0' or p_provider_delay > interval '5 minutes' then
    raise exception using errcode = '22023', message = 'fail: provider delay must be between 0 and 5 minutes';
  end if;

  return query
    with input as (
      select i.id, left(coalesce(nullif(i.err, ''), 'unknown error'), 1000) as err,
             coalesce(i.kind, case when peakwatch.provider_wide_error(i.err) then 'provider' else 'poison' end) as kind
      from unnest(p_token_ids, p_errors, coalesce(p_kinds, array_fill(null::text, array[cardinality(p_token_ids)])))
        as i(id, err, kind)
    ), updated as (
      update peakwatch.queue q
      set attempts = case when input.kind = 'provider' then q.attempts else q.attempts + 1 end,
          last_error = input.err,
          last_failure_kind = input.kind,
          dead_lettered_at = case when input.kind = 'poison' and q.attempts + 1 >= p_max_attempts then now() end,
          -- Provider failures keep one fixed delay, so rows come back in the order they were claimed
          -- (priority, then most overdue first) instead of shuffled by jitter.
          due_at = case when input.kind = 'provider' then now() + p_provider_delay
                        when q.attempts + 1 >= p_max_attempts then now()
                        else now() + peakwatch.backoff_delay(q.attempts + 1, p_base, p_cap) end,
          claimed_by = null,
          claimed_at = null,
          updated_at = now()
      from input
      where q.token_id = input.id
        and q.claimed_by = p_worker
      returning q.token_id, q.attempts, q.due_at, q.dead_lettered_at is not null as dead_lettered, q.last_failure_kind
    )
    select u.token_id, u.attempts, u.due_at, u.dead_lettered, u.last_failure_kind from updated u;
end
$$;

-- Dead letters are kept and counted; poison ones get another chance after a cool-down. A row
-- dead-lettered by a provider-wide failure (by code that counted those, or before this migration)
-- says nothing about its token and returns at once.
create or replace function peakwatch.requeue_dead_letters(p_older_than interval, p_limit integer default 1000)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception using errcode = '22023', message = 'requeue_dead_letters: older_than must not be negative';
  end if;
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023',
      message = format('requeue_dead_letters: limit must be between 1 and 10000 (got %s)', p_limit);
  end if;
  with picked as (
    select q.token_id from peakwatch.queue q
    where q.dead_lettered_at is not null
      and (q.dead_lettered_at <= now() - p_older_than
           or q.last_failure_kind = 'provider'
           or (q.last_failure_kind is null and peakwatch.provider_wide_error(q.last_error)))
    order by q.dead_lettered_at
    limit p_limit
    for update skip locked
  )
  update peakwatch.queue q
  set dead_lettered_at = null, attempts = 0, due_at = now(), updated_at = now()
  from picked
  where q.token_id = picked.token_id;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Same as before except dead_lettered_count: poison dead letters only (a provider one is requeued
-- within a minute by the orchestrator and is the provider's fault, shown by providers:unavailableFor).
create or replace function peakwatch.backlog()
returns table (
  due_count bigint,
  due_new_count bigint,
  oldest_due_at timestamptz,
  overdue_max_seconds double precision,
  overdue_p50_seconds double precision,
  overdue_p95_seconds double precision,
  dead_lettered_count bigint,
  queued_estimate bigint,
  figures_exact boolean,
  measured_at timestamptz
)
language plpgsql
stable
set jit = off
set search_path = ''
as $$
declare
  c_exact_limit constant bigint := 20000;
  c_sample constant integer := 16; -- must match the predicate of queue_due_sample_idx
  v_now timestamptz := now();
  v_due bigint;
  v_new bigint;
  v_oldest timestamptz;
  v_p50 timestamptz;
  v_p95 timestamptz;
  v_dead bigint;
  v_estimate bigint;
  v_sampled bigint;
begin
  select count(*) into v_due from (
    select 1 from peakwatch.queue q
    where q.dead_lettered_at is null and q.due_at <= v_now
    limit c_exact_limit + 1
  ) capped;
  select min(q.due_at) into v_oldest from peakwatch.queue q
  where q.dead_lettered_at is null and q.due_at <= v_now;

  if v_due <= c_exact_limit then
    select count(*) into v_new from peakwatch.queue q
    where q.priority = 0 and q.dead_lettered_at is null and q.due_at <= v_now;
    if v_due > 0 then
      select q.due_at into v_p95 from peakwatch.queue q
      where q.dead_lettered_at is null and q.due_at <= v_now
      order by q.due_at offset floor(v_due * 0.05) limit 1;
      select q.due_at into v_p50 from peakwatch.queue q
      where q.dead_lettered_at is null and q.due_at <= v_now
      order by q.due_at offset floor(v_due * 0.5) limit 1;
    end if;
  else
    select count(*), count(*) filter (where q.priority = 0) into v_sampled, v_new from peakwatch.queue q
    where q.dead_lettered_at is null and q.due_at <= v_now and q.token_id % 16 = 0;
    v_due := greatest(v_sampled * c_sample, c_exact_limit + 1);
    v_new := v_new * c_sample;
    select q.due_at into v_p95 from peakwatch.queue q
    where q.dead_lettered_at is null and q.due_at <= v_now and q.token_id % 16 = 0
    order by q.due_at offset floor(v_sampled * 0.05) limit 1;
    select q.due_at into v_p50 from peakwatch.queue q
    where q.dead_lettered_at is null and q.due_at <= v_now and q.token_id % 16 = 0
    order by q.due_at offset floor(v_sampled * 0.5) limit 1;
  end if;
  select count(*) into v_dead from peakwatch.queue q
  where q.dead_lettered_at is not null and q.last_failure_kind is distinct from 'provider';
  select greatest(c.reltuples, 0)::bigint into v_estimate from pg_catalog.pg_class c
  where c.oid = 'peakwatch.queue'::regclass;

  return query select
    v_due,
    v_new,
    v_oldest,
    coalesce(extract(epoch from v_now - v_oldest)::double precision, 0),
    coalesce(extract(epoch from v_now - coalesce(v_p50, v_oldest))::double precision, 0),
    coalesce(extract(epoch from v_now - coalesce(v_p95, v_oldest))::double precision, 0),
    v_dead,
    v_estimate,
    v_due <= c_exact_limit,
    v_now;
end
$$;

-- Rows already in the database (once, from this migration; callable again after an old tracker
-- version ran): name the kind of every recorded error, then give back what an outage took. Dead
-- letters from provider-wide failures return at once, and rows still backing off from them
-- (attempts counted, up to an hour away) are due now with their attempts forgotten.
create or replace function peakwatch.return_provider_failures()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_requeued integer := 0;
  v_batch integer;
  v_reset integer;
begin
  update peakwatch.queue
  set last_failure_kind = case when peakwatch.provider_wide_error(last_error) then 'provider' else 'poison' end
  where last_error is not null and last_failure_kind is null;
  loop
    -- poison dead letters are older than a century only in theory: this returns the provider ones
    v_batch := peakwatch.requeue_dead_letters(interval '100 years', 10000);
    exit when v_batch = 0;
    v_requeued := v_requeued + v_batch;
  end loop;
  update peakwatch.queue
  set attempts = 0, due_at = least(due_at, now()), updated_at = now()
  where last_failure_kind = 'provider' and dead_lettered_at is null and claimed_by is null and attempts > 0;
  get diagnostics v_reset = row_count;
  return v_requeued + v_reset;
end
$$;

select peakwatch.return_provider_failures();

revoke execute on all functions in schema peakwatch from public;
