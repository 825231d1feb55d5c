-- Issue 16: candle_bucket is inlined by the planner. An immutable SQL function is inlined only when
-- its body is immutable too, and date_part(text, timestamptz) is only stable; so each call was a
-- function call, 40 ms for health's per-stream figures over 1,427 streams (bench:health). The epoch
-- now comes from a timestamptz difference, which is immutable, and gives the same UTC buckets.
create or replace function peakwatch.candle_bucket(p_timeframe text, p_at timestamptz)
returns timestamptz
language sql
immutable
as $$
  select pg_catalog.to_timestamp(
    (pg_catalog.floor(pg_catalog.date_part('epoch', p_at - timestamptz '1970-01-01 00:00:00+00')
                      / pg_catalog.date_part('epoch', peakwatch.candle_timeframe_interval(p_timeframe)))
     * pg_catalog.date_part('epoch', peakwatch.candle_timeframe_interval(p_timeframe)))::double precision)
$$;

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
