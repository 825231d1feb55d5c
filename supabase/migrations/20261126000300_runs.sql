-- Every function invocation is recorded: started, finished, outcome, counts, error.
-- Health reads outcomes from here, never from logs.

create function peakwatch.run_start(p_function text, p_trigger text default 'http')
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into peakwatch.runs (function_name, trigger, started_at)
  values (p_function, coalesce(p_trigger, 'http'), clock_timestamp())
  returning id into v_id;
  return v_id;
end
$$;

create function peakwatch.run_finish(
  p_run_id bigint,
  p_outcome text,
  p_counts jsonb default '{}'::jsonb,
  p_error text default null
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_outcome is null or p_outcome not in ('ok', 'partial', 'error') then
    raise exception using errcode = '22023',
      message = format('run_finish: outcome must be ok, partial or error (got %s)', coalesce(p_outcome, 'null'));
  end if;
  update peakwatch.runs
  set finished_at = clock_timestamp(),
      outcome = p_outcome,
      counts = coalesce(p_counts, '{}'::jsonb),
      error = left(p_error, 2000)
  where id = p_run_id and finished_at is null;
  if not found then
    raise exception using errcode = 'P0002',
      message = format('run_finish: run %s does not exist or is already finished', p_run_id);
  end if;
end
$$;

revoke execute on all functions in schema peakwatch from public;
