-- Queue state transitions: enqueue, claim, complete, fail, requeue_dead_letters, backlog.
-- Each is one statement per batch (arrays in, rows out), so a tracker batch costs one round trip.

-- How long until a token that was just checked is due again. Young, trading tokens move fastest.
create function peakwatch.refresh_interval(p_status text, p_age interval)
returns interval
language sql
immutable
set search_path = ''
as $$
  select case
    when p_status = 'active' and p_age < interval '1 hour' then interval '30 seconds'
    when p_status = 'active' and p_age < interval '1 day' then interval '1 minute'
    when p_status = 'active' and p_age < interval '7 days' then interval '5 minutes'
    when p_status = 'active' then interval '15 minutes'
    when p_status = 'pending' and p_age < interval '1 hour' then interval '2 minutes'
    when p_status = 'pending' then interval '15 minutes'
    else interval '6 hours'
  end
$$;

-- Exponential backoff with "equal jitter": the delay for attempt k lies in [d/2, d] with
-- d = min(cap, base * 2^(k-1)), so successive ranges do not overlap until the cap.
create function peakwatch.backoff_delay(p_attempt integer, p_base interval, p_cap interval)
returns interval
language sql
volatile
set search_path = ''
as $$
  select d * (0.5 + random() * 0.5)
  from (select least(p_cap, p_base * power(2, least(greatest(p_attempt, 1) - 1, 40))) as d) x
$$;

create function peakwatch.check_batch(p_fn text, p_token_ids bigint[])
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_token_ids is null then
    raise exception using errcode = '22023', message = format('%s: token ids must not be null', p_fn);
  end if;
  if cardinality(p_token_ids) > 10000 then
    raise exception using errcode = '22023',
      message = format('%s: at most 10000 token ids per call (got %s)', p_fn, cardinality(p_token_ids));
  end if;
end
$$;

create function peakwatch.check_worker(p_fn text, p_worker text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_worker is null or length(p_worker) not between 1 and 100 then
    raise exception using errcode = '22023', message = format('%s: worker must be 1..100 characters', p_fn);
  end if;
end
$$;

create function peakwatch.enqueue(
  p_token_ids bigint[],
  p_priority smallint default 1,
  p_due_at timestamptz default now()
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform peakwatch.check_batch('enqueue', p_token_ids);
  if p_priority is null or p_priority not between 0 and 2 then
    raise exception using errcode = '22023', message = format('enqueue: priority must be 0, 1 or 2 (got %s)', p_priority);
  end if;
  insert into peakwatch.queue as q (token_id, chain, priority, due_at)
  select t.id, t.chain, p_priority, coalesce(p_due_at, now())
  from peakwatch.tokens t
  where t.id = any (p_token_ids)
  on conflict (token_id) do update
  set priority = least(q.priority, excluded.priority),
      -- a row under a live lease keeps it: pulling it forward would hand it to a second worker
      due_at = case when q.claimed_by is not null and q.due_at > now() then q.due_at
                    else least(q.due_at, excluded.due_at) end,
      dead_lettered_at = null,
      attempts = case when q.dead_lettered_at is not null then 0 else q.attempts end,
      updated_at = now();
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

create function peakwatch.claim(
  p_worker text,
  p_limit integer,
  p_lease interval,
  p_chains text[] default null,
  p_one_chain boolean default false
)
returns table (
  token_id bigint,
  chain text,
  address text,
  status text,
  priority smallint,
  attempts integer,
  lease_until timestamptz
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_remaining integer := p_limit;
  v_got integer;
  v_chain text;
begin
  perform peakwatch.check_worker('claim', p_worker);
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023',
      message = format('claim: n must be between 1 and 10000 (got %s)', coalesce(p_limit::text, 'null'));
  end if;
  if p_lease is null or p_lease <= interval '0' or p_lease > interval '1 hour' then
    raise exception using errcode = '22023',
      message = format('claim: lease must be positive and at most 1 hour (got %s)', coalesce(p_lease::text, 'null'));
  end if;

  -- With p_one_chain the batch stays on the chain of the row that would be claimed first, so a
  -- provider request (one chain, up to 30 addresses) goes out full instead of split per chain.
  if p_one_chain then
    select q.chain into v_chain
    from peakwatch.queue q
    where q.priority = 0 and q.dead_lettered_at is null and q.due_at <= now()
      and (p_chains is null or q.chain = any (p_chains))
    order by q.due_at desc
    limit 1;
    for v_priority in 1..2 loop
      exit when v_chain is not null;
      select q.chain into v_chain
      from peakwatch.queue q
      where q.priority = v_priority and q.dead_lettered_at is null and q.due_at <= now()
        and (p_chains is null or q.chain = any (p_chains))
      order by q.due_at
      limit 1;
    end loop;
    if v_chain is null then
      return;
    end if;
  end if;

  -- One exact index range per priority level, so rows leased or backing off at a higher
  -- priority are never scanned past on the way to due rows. Never-checked tokens (priority 0)
  -- go newest first: a fresh call is priced within seconds even behind a backlog of older ones.
  for v_priority in 0..2 loop
    exit when v_remaining <= 0;
    return query
      with picked as (
        -- the ordering is chosen in the subqueries, so each stays one index range scan
        select n.token_id from (
          select q.token_id
          from peakwatch.queue q
          where v_priority = 0 and q.priority = 0
            and q.dead_lettered_at is null
            and q.due_at <= now()
            and (p_chains is null or q.chain = any (p_chains))
            and (v_chain is null or q.chain = v_chain)
          order by q.due_at desc
          limit v_remaining
          for update skip locked
        ) n
        union all
        select o.token_id from (
          select q.token_id
          from peakwatch.queue q
          where v_priority > 0 and q.priority = v_priority
            and q.dead_lettered_at is null
            and q.due_at <= now()
            and (p_chains is null or q.chain = any (p_chains))
            and (v_chain is null or q.chain = v_chain)
          order by q.due_at
          limit v_remaining
          for update skip locked
        ) o
      ), claimed as (
        update peakwatch.queue q
        set due_at = now() + p_lease,
            claimed_by = p_worker,
            claimed_at = now(),
            updated_at = now()
        from picked
        where q.token_id = picked.token_id
        returning q.token_id, q.chain, q.priority, q.attempts, q.due_at
      )
      select c.token_id, c.chain, t.address, t.status, c.priority, c.attempts, c.due_at
      from claimed c
      join peakwatch.tokens t on t.id = c.token_id;
    get diagnostics v_got = row_count;
    v_remaining := v_remaining - v_got;
  end loop;
end
$$;

create function peakwatch.complete(p_worker text, p_token_ids bigint[])
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
  set due_at = now() + peakwatch.refresh_interval(t.status, now() - t.created_at) * (0.9 + random() * 0.2),
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

create function peakwatch.fail(
  p_worker text,
  p_token_ids bigint[],
  p_errors text[],
  p_max_attempts integer default 8,
  p_base interval default interval '15 seconds',
  p_cap interval default interval '1 hour'
)
returns table (token_id bigint, attempts integer, due_at timestamptz, dead_lettered boolean)
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
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception using errcode = '22023', message = 'fail: max attempts must be at least 1';
  end if;
  if p_base is null or p_base <= interval '0' or p_cap is null or p_cap < p_base then
    raise exception using errcode = '22023', message = 'fail: base must be positive and cap at least base';
  end if;

  return query
    with input as (
      select i.id, i.err from unnest(p_token_ids, p_errors) as i(id, err)
    ), updated as (
      update peakwatch.queue q
      set attempts = q.attempts + 1,
          last_error = left(coalesce(nullif(input.err, ''), 'unknown error'), 1000),
          dead_lettered_at = case when q.attempts + 1 >= p_max_attempts then now() end,
          due_at = case when q.attempts + 1 >= p_max_attempts then now()
                        else now() + peakwatch.backoff_delay(q.attempts + 1, p_base, p_cap) end,
          claimed_by = null,
          claimed_at = null,
          updated_at = now()
      from input
      where q.token_id = input.id
        and q.claimed_by = p_worker
      returning q.token_id, q.attempts, q.due_at, q.dead_lettered_at is not null as dead_lettered
    )
    select u.token_id, u.attempts, u.due_at, u.dead_lettered from updated u;
end
$$;

-- Dead letters are kept and counted; this gives them another chance after a cool-down.
create function peakwatch.requeue_dead_letters(p_older_than interval, p_limit integer default 1000)
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
    where q.dead_lettered_at is not null and q.dead_lettered_at <= now() - p_older_than
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

-- Backlog figures from index ranges over due rows only: cost follows the due backlog, not history.
-- Up to 20,000 due rows every figure is exact (a walk of a few ms). Beyond that, a backlog that is
-- an incident anyway, counts and percentiles are estimated from the 1-in-16 sample index (within ~2%
-- at 100,000 due), so the call stays cheap exactly when health is being polled hardest. The oldest
-- due row, and so overdue_max_seconds, is always exact.
create function peakwatch.backlog()
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
-- JIT compilation costs more than the whole index walk here
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
      -- the most overdue rows have the smallest due_at: the p95 overdue row sits 5% into the range
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
  select count(*) into v_dead from peakwatch.queue q where q.dead_lettered_at is not null;
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

revoke execute on all functions in schema peakwatch from public;
