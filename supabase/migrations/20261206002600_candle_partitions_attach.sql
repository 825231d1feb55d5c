-- Issue 16: a new candle month is attached, not created in place. CREATE TABLE … PARTITION OF takes an
-- ACCESS EXCLUSIVE lock on candles: queued behind one long read, it would hold every read and write
-- of the table behind it. A table made on its own and attached takes only SHARE UPDATE EXCLUSIVE,
-- which reads and writes pass. The table is empty, so the attach has nothing to scan; the parent's
-- primary key and BRIN index are built on it as it is attached.
create or replace function peakwatch.ensure_candle_partitions(p_from timestamptz, p_to timestamptz)
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
        execute format('create table peakwatch.%I (like peakwatch.candles including defaults including constraints)', v_name);
        execute format('alter table peakwatch.%I add constraint %I check (bucket >= %L and bucket < %L)',
          v_name, v_name || '_bucket_range', v_month, v_month + interval '1 month');
        execute format('alter table peakwatch.%I enable row level security', v_name);
        execute format('revoke all on peakwatch.%I from public, anon, authenticated, service_role', v_name);
        execute format('alter table peakwatch.candles attach partition peakwatch.%I for values from (%L) to (%L)',
          v_name, v_month, v_month + interval '1 month');
        v_created := v_created + 1;
      end if;
    end if;
    v_month := v_month + interval '1 month';
  end loop;
  return v_created;
end
$$;

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
