-- Issue 16, the collector's half: gaps recorded and repaired, a stream handed back without an attempt
-- when our own budget is out, and the one pg_cron job that drives every candle stream.

-- Missing ranges [p_from[i], p_to[i]) of a stream. A range already inside an open gap is not
-- recorded again; a new one counts in the stream's gaps_found. Returns how many were new.
create function peakwatch.record_candle_gaps(p_stream_id bigint, p_from timestamptz[], p_to timestamptz[], p_reason text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_new integer;
begin
  if p_from is null or p_to is null or cardinality(p_from) <> cardinality(p_to) or cardinality(p_from) > 10000 then
    raise exception using errcode = '22023', message = 'record_candle_gaps: from and to must be arrays of equal length (at most 10000)';
  end if;
  with ranges as (
    select f, t from unnest(p_from, p_to) as r(f, t) where f is not null and t > f
  ), fresh as (
    select r.f, r.t from ranges r
    where not exists (
      select 1 from peakwatch.candle_gaps g
      where g.stream_id = p_stream_id and g.repaired_at is null and g.gap_from <= r.f and g.gap_to >= r.t
    )
  ), written as (
    insert into peakwatch.candle_gaps as g (stream_id, gap_from, gap_to, reason)
    select p_stream_id, f, t, left(p_reason, 200) from fresh
    on conflict (stream_id, gap_from) do update
      set gap_to = greatest(g.gap_to, excluded.gap_to), repaired_at = null, detected_at = now(), reason = excluded.reason
    returning 1
  )
  select count(*)::int into v_new from written;
  if v_new > 0 then
    update peakwatch.candle_streams set gaps_found = gaps_found + v_new where id = p_stream_id;
  end if;
  return v_new;
end
$$;

-- The open gap a stream should repair next (newest first), skipping those tried p_max_attempts times.
create function peakwatch.next_candle_gap(p_stream_id bigint, p_max_attempts integer)
returns table (gap_id bigint, gap_from timestamptz, gap_to timestamptz, attempts integer)
language sql
stable
set search_path = ''
as $$
  select g.id, g.gap_from, g.gap_to, g.attempts from peakwatch.candle_gaps g
  where g.stream_id = p_stream_id and g.repaired_at is null and g.attempts < p_max_attempts
  order by g.gap_from desc
  limit 1
$$;

-- After a repair attempt: with no missing range left the gap is repaired (counted in gaps_repaired);
-- otherwise it shrinks to what is still missing, one more attempt counted, with the reason.
create function peakwatch.resolve_candle_gap(p_gap_id bigint, p_missing_from timestamptz, p_missing_to timestamptz, p_reason text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_stream bigint;
begin
  if p_missing_from is null then
    update peakwatch.candle_gaps set repaired_at = now(), attempts = attempts + 1
    where id = p_gap_id and repaired_at is null
    returning stream_id into v_stream;
    if v_stream is not null then
      update peakwatch.candle_streams set gaps_repaired = gaps_repaired + 1 where id = v_stream;
    end if;
    return v_stream is not null;
  end if;
  if p_missing_to is null or p_missing_to <= p_missing_from then
    raise exception using errcode = '22023', message = 'resolve_candle_gap: missing_to must be after missing_from';
  end if;
  update peakwatch.candle_gaps g
  set gap_from = p_missing_from, gap_to = p_missing_to, attempts = g.attempts + 1, reason = left(p_reason, 200)
  where g.id = p_gap_id and g.repaired_at is null
    and not exists (select 1 from peakwatch.candle_gaps o where o.stream_id = g.stream_id and o.gap_from = p_missing_from and o.id <> g.id);
  return false;
end
$$;

-- Hands a leased stream back untouched (our own budget ran out): due at p_due_at, no attempt counted.
create function peakwatch.release_candle_stream(p_stream_id bigint, p_owner text, p_due_at timestamptz)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  perform peakwatch.check_worker('release_candle_stream', p_owner);
  if p_due_at is null or p_due_at > now() + interval '1 day' then
    raise exception using errcode = '22023', message = 'release_candle_stream: due_at is required and at most 1 day ahead';
  end if;
  update peakwatch.candle_streams
  set due_at = p_due_at, lease_until = null, lease_owner = null
  where id = p_stream_id and lease_owner = p_owner;
  return found;
end
$$;

revoke all on function peakwatch.record_candle_gaps(bigint, timestamptz[], timestamptz[], text) from public, anon, authenticated, service_role;
revoke all on function peakwatch.next_candle_gap(bigint, integer) from public, anon, authenticated, service_role;
revoke all on function peakwatch.resolve_candle_gap(bigint, timestamptz, timestamptz, text) from public, anon, authenticated, service_role;
revoke all on function peakwatch.release_candle_stream(bigint, text, timestamptz) from public, anon, authenticated, service_role;

-- One job drives every stream (the function claims what is due), like the tracker's.
do $$
begin
  if to_regclass('cron.job') is null then
    raise notice 'no pg_cron in database %: jobs not scheduled here', current_database();
    return;
  end if;
  perform cron.schedule('peakwatch-candles', '* * * * *',
    $job$select peakwatch.invoke_function('candles', '{"trigger": "cron", "async": true}')$job$);
end
$$;
