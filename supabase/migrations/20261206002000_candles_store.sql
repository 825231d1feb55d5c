-- Issue 16: the candle store. Instruments, one stream per instrument × timeframe (cursor, due_at and a
-- lease, claimed with SKIP LOCKED like the price queue), candles partitioned by month with BRIN on
-- the bucket, gaps, and one settings row. State transitions are SQL functions, one round trip each.
--
-- candles has no foreign key to instruments: every insert into a 50M-row table would look the
-- instrument up, and deleting an instrument would cascade into a long DELETE. Instruments are
-- disabled, not deleted; retention drops whole partitions.

create table peakwatch.candle_settings (
  id boolean primary key default true check (id),
  -- GeckoTerminal serves day 1; hour 1, 4, 12; minute 1, 5, 15: timeframes for called tokens' pools
  default_timeframes text[] not null default '{5m,1h,1d}'
    check (default_timeframes <@ array['1m', '5m', '15m', '1h', '4h', '12h', '1d']
           and cardinality(default_timeframes) <= 7 and array_position(default_timeframes, null) is null),
  -- how deep a new auto instrument's streams backfill
  backfill_days integer not null default 180 check (backfill_days between 0 and 3650),
  -- partitions whose whole month is older than this are dropped by housekeeping
  retention_months integer not null default 24 check (retention_months between 1 and 1200),
  -- monthly partitions housekeeping keeps ready ahead of the current month
  partitions_ahead_months integer not null default 2 check (partitions_ahead_months between 1 and 24),
  -- how often a GeckoTerminal pool stream is due for its incremental fetch, at most
  pool_stream_interval interval not null default interval '1 minute'
    check (pool_stream_interval between interval '10 seconds' and interval '1 day'),
  -- whether a called token whose pool is chosen gets an instrument on its own
  auto_instruments boolean not null default true,
  updated_at timestamptz not null default now()
);
insert into peakwatch.candle_settings default values;

create table peakwatch.instruments (
  id bigint generated always as identity primary key,
  provider text not null check (provider in ('geckoterminal', 'tradovate')),
  -- GeckoTerminal network id (solana, eth, …); null for futures
  network text check (network ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  -- GeckoTerminal: the pool address; Tradovate: the product (NQ)
  symbol text not null check (length(symbol) between 1 and 128),
  -- GeckoTerminal `token` parameter: base, quote or a token address; null for futures
  token_side text check (length(token_side) between 1 and 128),
  token_id bigint references peakwatch.tokens (id) on delete set null,
  -- Tradovate: the front contract currently read (NQH7); null otherwise
  contract text check (length(contract) between 1 and 64),
  calendar text not null default 'always' check (calendar ~ '^[a-z][a-z0-9_]{0,31}$'),
  enabled boolean not null default true,
  backfill_days integer not null default 0 check (backfill_days between 0 and 3650),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint instruments_identity_key unique nulls not distinct (provider, network, symbol, token_side),
  constraint instruments_gecko_network check (provider <> 'geckoterminal' or network is not null)
);
create index instruments_token_idx on peakwatch.instruments (token_id) where token_id is not null;

create table peakwatch.candle_streams (
  id bigint generated always as identity primary key,
  instrument_id bigint not null references peakwatch.instruments (id) on delete cascade,
  timeframe text not null check (timeframe in ('1m', '5m', '15m', '30m', '1h', '4h', '12h', '1d')),
  enabled boolean not null default true,
  -- a claim pushes due_at forward by the lease, so a dead collector's stream is due again on its own
  due_at timestamptz not null default now(),
  lease_until timestamptz,
  lease_owner text,
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  -- cursor: the newest closed bar stored (only moves forward)
  last_closed_bucket timestamptz,
  last_success_at timestamptz,
  -- backfill pages backwards from the oldest bucket reached to the target
  backfill_target timestamptz,
  backfill_cursor timestamptz,
  backfill_done_at timestamptz,
  coverage_reason text check (coverage_reason in ('not_on_provider', 'younger_than_depth', 'provider_refused', 'beyond_provider_window')),
  -- rows physically written (inserted, revised, filled, forming bar updated); identical rows are not
  bars_written bigint not null default 0,
  revisions bigint not null default 0,
  gaps_found bigint not null default 0,
  gaps_repaired bigint not null default 0,
  -- rows written in the hour starting at written_hour, and in the hour before it: health reads
  -- "rows written per hour" from these, never from candles
  written_hour timestamptz,
  written_in_hour bigint not null default 0,
  written_prev_hour bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint candle_streams_instrument_timeframe_key unique (instrument_id, timeframe)
);
create index candle_streams_due_idx on peakwatch.candle_streams (due_at) where enabled;

create table peakwatch.candles (
  instrument_id bigint not null,
  timeframe text not null,
  bucket timestamptz not null,
  open numeric not null,
  high numeric not null,
  low numeric not null,
  close numeric not null,
  volume numeric not null default 0,
  -- an interval with no trades, filled with the previous close and zero volume (not missing data)
  synthetic boolean not null default false,
  source text not null check (length(source) between 1 and 40),
  fetched_at timestamptz not null default now(),
  primary key (instrument_id, timeframe, bucket)
) partition by range (bucket);
create index candles_bucket_brin_idx on peakwatch.candles using brin (bucket);

create table peakwatch.candle_gaps (
  id bigint generated always as identity primary key,
  stream_id bigint not null references peakwatch.candle_streams (id) on delete cascade,
  gap_from timestamptz not null,
  gap_to timestamptz not null check (gap_to > gap_from),
  detected_at timestamptz not null default now(),
  repaired_at timestamptz,
  attempts integer not null default 0 check (attempts >= 0),
  reason text,
  constraint candle_gaps_stream_range_key unique (stream_id, gap_from)
);
create index candle_gaps_open_idx on peakwatch.candle_gaps (stream_id, gap_from) where repaired_at is null;

create trigger instruments_touch before update on peakwatch.instruments
  for each row execute function peakwatch.touch_updated_at();
create trigger candle_streams_touch before update on peakwatch.candle_streams
  for each row execute function peakwatch.touch_updated_at();
create trigger candle_settings_touch before update on peakwatch.candle_settings
  for each row execute function peakwatch.touch_updated_at();

-- A timeframe's length; null for an unknown one.
create function peakwatch.candle_timeframe_interval(p_timeframe text)
returns interval
language sql
immutable
set search_path = ''
as $$
  select case p_timeframe
    when '1m' then interval '1 minute' when '5m' then interval '5 minutes' when '15m' then interval '15 minutes'
    when '30m' then interval '30 minutes' when '1h' then interval '1 hour' when '4h' then interval '4 hours'
    when '12h' then interval '12 hours' when '1d' then interval '1 day'
  end
$$;

-- The bucket holding p_at: UTC-aligned, as timeframes.ts bucketStart (every timeframe divides a day).
create function peakwatch.candle_bucket(p_timeframe text, p_at timestamptz)
returns timestamptz
language sql
immutable
set search_path = ''
as $$
  select to_timestamp(floor(extract(epoch from p_at) / extract(epoch from peakwatch.candle_timeframe_interval(p_timeframe)))
                      * extract(epoch from peakwatch.candle_timeframe_interval(p_timeframe)))
$$;

create function peakwatch.candle_partition_name(p_month timestamptz)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'candles_' || to_char(p_month at time zone 'UTC', 'YYYY"m"MM')
$$;

-- Monthly partitions covering [p_from, p_to] (UTC months); returns how many it created. Each new
-- partition gets the walls every table has (RLS on, no policy, no grants). Creating a partition
-- locks the parent briefly, so housekeeping keeps the next months ready and writers rarely do it.
create function peakwatch.ensure_candle_partitions(p_from timestamptz, p_to timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_month timestamptz;
  v_last timestamptz;
  v_name text;
  v_created integer := 0;
begin
  if p_from is null or p_to is null or p_to < p_from then
    raise exception using errcode = '22023', message = 'ensure_candle_partitions: from and to are required and from <= to';
  end if;
  v_month := date_trunc('month', p_from, 'UTC');
  v_last := date_trunc('month', p_to, 'UTC');
  if v_last > v_month + interval '120 months' then
    raise exception using errcode = '22023', message = format('ensure_candle_partitions: at most 120 months per call (%s to %s)', p_from, p_to);
  end if;
  while v_month <= v_last loop
    v_name := peakwatch.candle_partition_name(v_month);
    if to_regclass(format('peakwatch.%I', v_name)) is null then
      -- two writers needing the same new month: the second waits here, then finds it made
      perform pg_advisory_xact_lock(hashtext('peakwatch.candle_partitions'));
      if to_regclass(format('peakwatch.%I', v_name)) is null then
        execute format('create table peakwatch.%I partition of peakwatch.candles for values from (%L) to (%L)',
          v_name, v_month, v_month + interval '1 month');
        execute format('alter table peakwatch.%I enable row level security', v_name);
        execute format('revoke all on peakwatch.%I from public, anon, authenticated, service_role', v_name);
        v_created := v_created + 1;
      end if;
    end if;
    v_month := v_month + interval '1 month';
  end loop;
  return v_created;
end
$$;


-- Leases up to p_limit due streams of one provider, most overdue first (SKIP LOCKED). due_at moves
-- forward by the lease, so a stream whose collector died is due again when the lease runs out.
create function peakwatch.claim_candle_streams(p_provider text, p_limit integer, p_lease_seconds integer, p_owner text)
returns table (
  stream_id bigint,
  instrument_id bigint,
  provider text,
  network text,
  symbol text,
  token_side text,
  contract text,
  calendar text,
  timeframe text,
  last_closed_bucket timestamptz,
  backfill_target timestamptz,
  backfill_cursor timestamptz,
  backfill_done_at timestamptz,
  attempts integer
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform peakwatch.check_worker('claim_candle_streams', p_owner);
  if p_provider is null or p_provider not in ('geckoterminal', 'tradovate') then
    raise exception using errcode = '22023', message = format('claim_candle_streams: unknown provider %s', coalesce(p_provider, 'null'));
  end if;
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023', message = format('claim_candle_streams: n must be between 1 and 10000 (got %s)', coalesce(p_limit::text, 'null'));
  end if;
  if p_lease_seconds is null or p_lease_seconds not between 1 and 3600 then
    raise exception using errcode = '22023', message = format('claim_candle_streams: lease must be 1..3600 seconds (got %s)', coalesce(p_lease_seconds::text, 'null'));
  end if;
  return query
    with picked as (
      select s.id, s.due_at as was_due
      from peakwatch.candle_streams s
      join peakwatch.instruments i on i.id = s.instrument_id
      where s.enabled and s.due_at <= now() and i.enabled and i.provider = p_provider
      order by s.due_at
      limit p_limit
      for update of s skip locked
    ), claimed as (
      update peakwatch.candle_streams s
      set due_at = now() + make_interval(secs => p_lease_seconds),
          lease_until = now() + make_interval(secs => p_lease_seconds),
          lease_owner = p_owner
      from picked
      where s.id = picked.id
      returning s.id, s.instrument_id, s.timeframe, s.last_closed_bucket, s.backfill_target, s.backfill_cursor, s.backfill_done_at, s.attempts, picked.was_due
    )
    select c.id, c.instrument_id, i.provider, i.network, i.symbol, i.token_side, i.contract, i.calendar, c.timeframe,
           c.last_closed_bucket, c.backfill_target, c.backfill_cursor, c.backfill_done_at, c.attempts
    from claimed c
    join peakwatch.instruments i on i.id = c.instrument_id
    order by c.was_due, c.id;
end
$$;

-- Writes a page of bars for one stream in one statement. Idempotent: a row whose values are
-- identical is not rewritten, so fetching a window again changes 0 rows. Each bar is counted once:
--   inserted   a bucket not stored before
--   revised    a stored bar that was already closed when stored (fetched_at >= bucket end) and changed
--   filled     a stored synthetic bar ("no trades") replaced by a real one
--   updated    the still-forming bar (stored before its bucket ended) with new values
--   unchanged  identical values; not written
-- Buckets must be aligned to the stream's timeframe and unique; missing monthly partitions are made.
create function peakwatch.upsert_candles(
  p_stream_id bigint,
  p_buckets timestamptz[],
  p_open numeric[],
  p_high numeric[],
  p_low numeric[],
  p_close numeric[],
  p_volume numeric[],
  p_synthetic boolean[],
  p_source text
)
returns table (inserted integer, revised integer, unchanged integer, filled integer, updated integer)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_n integer := coalesce(cardinality(p_buckets), 0);
  v_instrument bigint;
  v_timeframe text;
  v_size interval;
  v_inserted integer;
  v_revised integer;
  v_unchanged integer;
  v_filled integer;
  v_updated integer;
  v_hour timestamptz := date_trunc('hour', now());
begin
  if p_buckets is null or v_n > 10000 then
    raise exception using errcode = '22023', message = format('upsert_candles: 0..10000 bars per call (got %s)', coalesce(v_n::text, 'null'));
  end if;
  if coalesce(cardinality(p_open), -1) <> v_n or coalesce(cardinality(p_high), -1) <> v_n or coalesce(cardinality(p_low), -1) <> v_n
     or coalesce(cardinality(p_close), -1) <> v_n or coalesce(cardinality(p_volume), -1) <> v_n or coalesce(cardinality(p_synthetic), -1) <> v_n then
    raise exception using errcode = '22023', message = format('upsert_candles: every array must have %s entries, one per bucket', v_n);
  end if;
  if p_source is null or length(p_source) not between 1 and 40 then
    raise exception using errcode = '22023', message = 'upsert_candles: source must be 1..40 characters';
  end if;
  select s.instrument_id, s.timeframe into v_instrument, v_timeframe from peakwatch.candle_streams s where s.id = p_stream_id;
  if v_instrument is null then
    raise exception using errcode = '22023', message = format('upsert_candles: no stream %s', coalesce(p_stream_id::text, 'null'));
  end if;
  if v_n = 0 then
    return query select 0, 0, 0, 0, 0;
    return;
  end if;
  v_size := peakwatch.candle_timeframe_interval(v_timeframe);
  if exists (
    select 1 from unnest(p_buckets, p_open, p_high, p_low, p_close, p_volume, p_synthetic) u(b, o, h, l, c, v, s)
    where b is null or o is null or h is null or l is null or c is null or v is null or s is null
       or b <> peakwatch.candle_bucket(v_timeframe, b)
  ) then
    raise exception using errcode = '22023', message = format('upsert_candles: bars must have no nulls and buckets aligned to %s', v_timeframe);
  end if;
  if (select count(distinct b) from unnest(p_buckets) b) <> v_n then
    raise exception using errcode = '22023', message = 'upsert_candles: a bucket appears twice in one call';
  end if;
  perform peakwatch.ensure_candle_partitions(min(b), max(b)) from unnest(p_buckets) b;

  with input as (
    select u.b as bucket, u.o as open, u.h as high, u.l as low, u.c as close, u.v as volume, u.s as synthetic
    from unnest(p_buckets, p_open, p_high, p_low, p_close, p_volume, p_synthetic) u(b, o, h, l, c, v, s)
  ), classified as (
    select i.*,
      case
        when e.bucket is null then 'inserted'
        when (e.open, e.high, e.low, e.close, e.volume, e.synthetic) = (i.open, i.high, i.low, i.close, i.volume, i.synthetic) then 'unchanged'
        when e.synthetic and not i.synthetic then 'filled'
        when e.fetched_at >= e.bucket + v_size then 'revised'
        else 'updated'
      end as kind
    from input i
    left join peakwatch.candles e
      on e.instrument_id = v_instrument and e.timeframe = v_timeframe and e.bucket = i.bucket
  ), written as (
    -- a data-modifying CTE runs to completion whether or not the outer query reads it
    insert into peakwatch.candles as c (instrument_id, timeframe, bucket, open, high, low, close, volume, synthetic, source, fetched_at)
    select v_instrument, v_timeframe, k.bucket, k.open, k.high, k.low, k.close, k.volume, k.synthetic, p_source, now()
    from classified k
    where k.kind <> 'unchanged'
    on conflict (instrument_id, timeframe, bucket) do update
    set open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume,
        synthetic = excluded.synthetic, source = excluded.source, fetched_at = excluded.fetched_at
    -- a concurrent writer may have stored the same values since we looked
    where (c.open, c.high, c.low, c.close, c.volume, c.synthetic) is distinct from
          (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.synthetic)
  )
  select
    (count(*) filter (where kind = 'inserted'))::integer,
    (count(*) filter (where kind = 'revised'))::integer,
    (count(*) filter (where kind = 'unchanged'))::integer,
    (count(*) filter (where kind = 'filled'))::integer,
    (count(*) filter (where kind = 'updated'))::integer
  into v_inserted, v_revised, v_unchanged, v_filled, v_updated
  from classified;

  update peakwatch.candle_streams s
  set bars_written = s.bars_written + v_n - v_unchanged,
      revisions = s.revisions + v_revised,
      written_prev_hour = case
        when s.written_hour = v_hour then s.written_prev_hour
        when s.written_hour = v_hour - interval '1 hour' then s.written_in_hour
        else 0 end,
      written_in_hour = case when s.written_hour = v_hour then s.written_in_hour else 0 end + v_n - v_unchanged,
      written_hour = v_hour
  where s.id = p_stream_id and v_n - v_unchanged > 0;

  return query select v_inserted, v_revised, v_unchanged, v_filled, v_updated;
end
$$;

-- A finished fetch: the cursor only moves forward, the backfill cursor only backwards, the lease
-- ends. With p_owner, only a collector that still holds the lease may complete (returns false if not).
create function peakwatch.complete_candle_stream(
  p_stream_id bigint,
  p_last_closed_bucket timestamptz,
  p_backfill_cursor timestamptz,
  p_backfill_done boolean,
  p_coverage_reason text,
  p_next_due_at timestamptz,
  p_owner text default null
)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_next_due_at is null or p_next_due_at > now() + interval '7 days' then
    raise exception using errcode = '22023', message = 'complete_candle_stream: next due_at is required and at most 7 days ahead';
  end if;
  update peakwatch.candle_streams s
  set last_closed_bucket = greatest(s.last_closed_bucket, p_last_closed_bucket),
      backfill_cursor = least(s.backfill_cursor, p_backfill_cursor),
      backfill_done_at = case when coalesce(p_backfill_done, false) then coalesce(s.backfill_done_at, now()) else s.backfill_done_at end,
      coverage_reason = coalesce(p_coverage_reason, s.coverage_reason),
      due_at = p_next_due_at,
      lease_until = null,
      lease_owner = null,
      attempts = 0,
      last_error = null,
      last_success_at = now()
  where s.id = p_stream_id and (p_owner is null or s.lease_owner = p_owner);
  return found;
end
$$;

-- A failed fetch: attempts + 1, the error kept (the caller redacts it), due again at p_retry_at.
create function peakwatch.fail_candle_stream(p_stream_id bigint, p_error text, p_retry_at timestamptz, p_owner text default null)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_attempts integer;
begin
  if p_retry_at is null or p_retry_at > now() + interval '7 days' then
    raise exception using errcode = '22023', message = 'fail_candle_stream: retry_at is required and at most 7 days ahead';
  end if;
  update peakwatch.candle_streams s
  set attempts = s.attempts + 1,
      last_error = left(coalesce(p_error, 'unknown error'), 500),
      due_at = p_retry_at,
      lease_until = null,
      lease_owner = null
  where s.id = p_stream_id and (p_owner is null or s.lease_owner = p_owner)
  returning s.attempts into v_attempts;
  return v_attempts;
end
$$;

-- The buckets a stream has stored in [p_from, p_to), oldest first: gap detection compares them with
-- the calendar's expected buckets in TypeScript. One index range; at most 50,000 buckets wide.
create function peakwatch.candle_buckets(p_stream_id bigint, p_from timestamptz, p_to timestamptz)
returns setof timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_instrument bigint;
  v_timeframe text;
begin
  select s.instrument_id, s.timeframe into v_instrument, v_timeframe from peakwatch.candle_streams s where s.id = p_stream_id;
  if v_instrument is null then
    raise exception using errcode = '22023', message = format('candle_buckets: no stream %s', coalesce(p_stream_id::text, 'null'));
  end if;
  if p_from is null or p_to is null or p_to < p_from or p_to - p_from > peakwatch.candle_timeframe_interval(v_timeframe) * 50000 then
    raise exception using errcode = '22023', message = 'candle_buckets: from <= to and at most 50000 buckets';
  end if;
  return query
    select c.bucket from peakwatch.candles c
    where c.instrument_id = v_instrument and c.timeframe = v_timeframe and c.bucket >= p_from and c.bucket < p_to
    order by c.bucket;
end
$$;

-- The read: bars of one instrument and timeframe in [p_from, p_to), oldest first, at most 10,000.
create function peakwatch.candles(p_instrument_id bigint, p_timeframe text, p_from timestamptz, p_to timestamptz)
returns table (bucket timestamptz, open numeric, high numeric, low numeric, close numeric, volume numeric, synthetic boolean)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
begin
  if peakwatch.candle_timeframe_interval(p_timeframe) is null then
    raise exception using errcode = '22023', message = format('candles: unknown timeframe %s', coalesce(p_timeframe, 'null'));
  end if;
  if p_from is null or p_to is null or p_to < p_from or p_to - p_from > peakwatch.candle_timeframe_interval(p_timeframe) * 10000 then
    raise exception using errcode = '22023', message = 'candles: from <= to and at most 10000 bars';
  end if;
  return query
    select c.bucket, c.open, c.high, c.low, c.close, c.volume, c.synthetic
    from peakwatch.candles c
    where c.instrument_id = p_instrument_id and c.timeframe = p_timeframe and c.bucket >= p_from and c.bucket < p_to
    order by c.bucket;
end
$$;

alter table peakwatch.candle_settings enable row level security;
alter table peakwatch.instruments enable row level security;
alter table peakwatch.candle_streams enable row level security;
alter table peakwatch.candles enable row level security;
alter table peakwatch.candle_gaps enable row level security;

revoke all on all tables in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all sequences in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
