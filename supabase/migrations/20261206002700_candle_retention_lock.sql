-- Issue 16: dropping a month past retention waits at most 300 ms for its lock (was 2 s). DROP of a
-- partition needs ACCESS EXCLUSIVE on candles, and reads queue behind a waiting DROP; housekeeping
-- runs every minute, so a drop that gives up is simply tried again.

-- Retention by partition: months wholly older than retention_months are dropped (DROP TABLE of a
-- partition, never a DELETE), and the current month plus partitions_ahead_months are made ahead so
-- writers rarely create one. A drop that cannot get its lock within 300 ms is left for the next run
-- (housekeeping runs every minute): while a DROP waits, reads of candles queue behind it.
create or replace function peakwatch.candle_retention()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_settings peakwatch.candle_settings;
  v_oldest_kept timestamptz;
  v_name text;
  v_lock_timeout text := current_setting('lock_timeout');
  v_dropped integer := 0;
  v_skipped integer := 0;
  v_created integer;
begin
  select * into v_settings from peakwatch.candle_settings;
  v_oldest_kept := date_trunc('month', now(), 'UTC') - make_interval(months => coalesce(v_settings.retention_months, 24));
  perform set_config('lock_timeout', '300ms', true);
  -- names first: the loop drops what a catalog query would still be reading
  foreach v_name in array array(
    select c.relname::text
    from pg_inherits h join pg_class c on c.oid = h.inhrelid
    where h.inhparent = 'peakwatch.candles'::regclass and c.relname ~ '^candles_[0-9]{4}m[0-9]{2}$'
      and make_timestamptz(substr(c.relname, 9, 4)::int, substr(c.relname, 14, 2)::int, 1, 0, 0, 0, 'UTC') < v_oldest_kept
    order by c.relname)
  loop
    begin
      execute format('drop table peakwatch.%I', v_name);
      v_dropped := v_dropped + 1;
    exception when lock_not_available then
      v_skipped := v_skipped + 1;
    end;
  end loop;
  perform set_config('lock_timeout', v_lock_timeout, true);
  v_created := peakwatch.ensure_candle_partitions(now(), now() + make_interval(months => coalesce(v_settings.partitions_ahead_months, 2)));
  return jsonb_build_object('dropped', v_dropped, 'skipped', v_skipped, 'created', v_created);
end
$$;

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
