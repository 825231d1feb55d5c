-- Issue 16: the write path, measured (bench:candles). upsert_candles checked each bar's alignment
-- through candle_bucket(), a SQL function that a SET clause keeps from being inlined, so every bar
-- paid a function call; and its lookup of stored bars read the stream's whole history. Now the
-- check is arithmetic in one pass and the lookup is bounded by the page's range.
--
-- candle_timeframe_interval and candle_bucket lose their SET search_path so the planner inlines
-- them (a SET clause forbids inlining); they reference nothing outside pg_catalog, which is always
-- searched first.

create or replace function peakwatch.candle_timeframe_interval(p_timeframe text)
returns interval
language sql
immutable
as $$
  select case p_timeframe
    when '1m' then interval '1 minute' when '5m' then interval '5 minutes' when '15m' then interval '15 minutes'
    when '30m' then interval '30 minutes' when '1h' then interval '1 hour' when '4h' then interval '4 hours'
    when '12h' then interval '12 hours' when '1d' then interval '1 day'
  end
$$;

create or replace function peakwatch.candle_bucket(p_timeframe text, p_at timestamptz)
returns timestamptz
language sql
immutable
as $$
  select pg_catalog.to_timestamp(pg_catalog.floor(pg_catalog.date_part('epoch', p_at) / pg_catalog.date_part('epoch', peakwatch.candle_timeframe_interval(p_timeframe)))
                                 * pg_catalog.date_part('epoch', peakwatch.candle_timeframe_interval(p_timeframe)))
$$;

-- Writes a page of bars for one stream in one statement. Idempotent: a row whose values are
-- identical is not rewritten, so fetching a window again changes 0 rows. Each bar is counted once:
--   inserted   a bucket not stored before
--   revised    a stored bar that was already closed when stored (fetched_at >= bucket end) and changed
--   filled     a stored synthetic bar ("no trades") replaced by a real one
--   updated    the still-forming bar (stored before its bucket ended) with new values
--   unchanged  identical values; not written
-- Buckets must be aligned to the stream's timeframe and unique; missing monthly partitions are made.
create or replace function peakwatch.upsert_candles(
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
  v_bad boolean;
  v_distinct bigint;
  v_min timestamptz;
  v_max timestamptz;
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
  -- one pass: nulls, alignment (plain arithmetic, no function call per bar), duplicates, the range
  select bool_or(b is null or o is null or h is null or l is null or c is null or v is null or s is null
                 or extract(epoch from b) % extract(epoch from v_size) <> 0),
         count(distinct b), min(b), max(b)
  into v_bad, v_distinct, v_min, v_max
  from unnest(p_buckets, p_open, p_high, p_low, p_close, p_volume, p_synthetic) u(b, o, h, l, c, v, s);
  if v_bad then
    raise exception using errcode = '22023', message = format('upsert_candles: bars must have no nulls and buckets aligned to %s', v_timeframe);
  end if;
  if v_distinct <> v_n then
    raise exception using errcode = '22023', message = 'upsert_candles: a bucket appears twice in one call';
  end if;
  perform peakwatch.ensure_candle_partitions(v_min, v_max);

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
    -- bounded by the page's range, so only its partitions and its rows are read, not the stream's history
    left join peakwatch.candles e
      on e.instrument_id = v_instrument and e.timeframe = v_timeframe and e.bucket = i.bucket and e.bucket between v_min and v_max
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

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
