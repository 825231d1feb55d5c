-- A source polled every 60 s by a poller that pg_cron starts every 60 s was polled every 120 s:
-- finish_poll sets next_poll_at to the poll's finish plus the interval, a little after the next
-- cron tick, so that tick skipped it. A source is now due up to a fifth of its interval (at most
-- 15 s) early, so it is polled at the tick nearest to its time: a 1-minute feed every minute, a
-- 5-minute one every 5 minutes. Only this comparison changes.

create or replace function peakwatch.claim_sources(p_limit integer, p_lease interval, p_name text default null)
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
      where s.enabled and s.kind <> 'manual'
        and s.next_poll_at <= now() + make_interval(secs => least(s.poll_interval_seconds / 5.0, 15))
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
