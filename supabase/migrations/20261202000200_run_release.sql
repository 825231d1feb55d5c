-- Deploy drift: every run records the release of the code that ran it (DENO_DEPLOYMENT_ID on hosted
-- Supabase, the git commit locally), so health can show which version each function runs.

alter table peakwatch.runs add column release text check (release is null or length(release) <= 100);

drop function peakwatch.run_start(text, text);

create function peakwatch.run_start(p_function text, p_trigger text default 'http', p_release text default null)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into peakwatch.runs (function_name, trigger, started_at, release)
  values (p_function, coalesce(p_trigger, 'http'), clock_timestamp(), left(p_release, 100))
  returning id into v_id;
  return v_id;
end
$$;

revoke execute on function peakwatch.run_start(text, text, text) from public;
