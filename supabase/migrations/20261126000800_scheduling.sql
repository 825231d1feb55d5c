-- pg_cron → functions. Every job calls one helper, peakwatch.invoke_function, which posts to
-- <functions url>/functions/v1/<name> with net.http_post and the service key. On Supabase the URL
-- and key come from Vault (secrets `peakwatch_functions_url`, `peakwatch_service_key`); locally
-- from the private peakwatch.settings table. The cron SQL is the same in both places.
--
-- pg_cron's "succeeded" only means the request was queued, so every request is remembered in
-- peakwatch.invocations and a SQL-only job copies its HTTP outcome from net._http_response
-- (kept only 6 h there) — a 401 or 404 from a function is a counted, durable failure.

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net')
     and not exists (select 1 from pg_namespace where nspname = 'net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

create table peakwatch.settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_]{0,62}$'),
  value text not null,
  updated_at timestamptz not null default now()
);
revoke all on peakwatch.settings from public, anon, authenticated, service_role;

create table peakwatch.invocations (
  request_id bigint primary key,
  function_name text not null,
  requested_at timestamptz not null default now(),
  outcome text not null default 'pending' check (outcome in ('pending', 'ok', 'failed')),
  status_code integer,
  error text,
  resolved_at timestamptz
);
create index invocations_pending_idx on peakwatch.invocations (requested_at) where outcome = 'pending';
create index invocations_failed_idx on peakwatch.invocations (function_name, requested_at desc) where outcome = 'failed';
create index invocations_requested_brin_idx on peakwatch.invocations using brin (requested_at);

-- The orchestrator closes runs whose invocation died without recording an end.
create index runs_running_idx on peakwatch.runs (started_at) where outcome = 'running';

-- Vault when it exists (Supabase), else the private settings table (local stack).
create function peakwatch.secret(p_name text)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_value text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    -- dynamic: the vault schema exists on Supabase only
    execute format('select decrypted_secret from %I.decrypted_secrets where name = $1 limit 1', 'vault') into v_value using p_name;
  end if;
  if v_value is null then
    select s.value into v_value from peakwatch.settings s where s.key = p_name;
  end if;
  return v_value;
end
$$;

create function peakwatch.invoke_function(
  p_name text,
  p_body jsonb default '{}'::jsonb,
  p_timeout_ms integer default 5000
)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_url text := peakwatch.secret('peakwatch_functions_url');
  v_key text := peakwatch.secret('peakwatch_service_key');
  v_request_id bigint;
begin
  if p_name is null or p_name !~ '^[a-z][a-z0-9-]{0,39}$' then
    raise exception using errcode = '22023', message = format('invoke_function: bad function name %L', p_name);
  end if;
  if v_url is null or v_key is null then
    raise exception using errcode = '55000',
      message = 'invoke_function: secrets peakwatch_functions_url and peakwatch_service_key are not set (Vault on Supabase, peakwatch.settings locally)';
  end if;
  select net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/' || p_name,
    body := coalesce(p_body, '{}'::jsonb),
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds := p_timeout_ms
  ) into v_request_id;
  insert into peakwatch.invocations (request_id, function_name) values (v_request_id, p_name);
  return v_request_id;
end
$$;

-- Copies HTTP outcomes of finished requests into peakwatch.invocations before pg_net forgets them.
create function peakwatch.collect_invocation_results()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  update peakwatch.invocations i
  set status_code = r.status_code,
      outcome = case when r.timed_out or r.error_msg is not null or r.status_code is null or r.status_code >= 300
                     then 'failed' else 'ok' end,
      error = case
        when r.timed_out then 'timed out'
        when r.error_msg is not null then left(r.error_msg, 500)
        when r.status_code is null or r.status_code >= 300 then 'HTTP ' || coalesce(r.status_code::text, '?')
      end,
      resolved_at = now()
  from net._http_response r
  where r.id = i.request_id and i.outcome = 'pending';
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Retention, in bounded batches (cron.job_run_details is never pruned by pg_cron itself) so a long-neglected table never turns into one huge delete.
create function peakwatch.housekeeping(
  p_runs_days integer default 14,
  p_invocations_days integer default 7,
  p_cron_history_days integer default 7,
  p_batch integer default 50000
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_runs integer;
  v_invocations integer;
  v_cron integer := 0;
  v_responses integer := 0;
begin
  delete from peakwatch.runs where id in (
    select r.id from peakwatch.runs r
    where r.started_at < now() - make_interval(days => p_runs_days) and r.outcome <> 'running'
    limit p_batch);
  get diagnostics v_runs = row_count;
  delete from peakwatch.invocations where request_id in (
    select i.request_id from peakwatch.invocations i
    where i.requested_at < now() - make_interval(days => p_invocations_days)
    limit p_batch);
  get diagnostics v_invocations = row_count;
  if to_regclass('cron.job_run_details') is not null then
    execute format('delete from %1$I.job_run_details where runid in (select runid from %1$I.job_run_details where end_time < now() - make_interval(days => $1) limit $2)', 'cron')
      using p_cron_history_days, p_batch;
    get diagnostics v_cron = row_count;
  end if;
  -- pg_net prunes its own responses after 6 h; the local stand-in has nobody to do it.
  if to_regclass('net._http_response') is not null and not exists (select 1 from pg_extension where extname = 'pg_net') then
    execute 'delete from net._http_response where created < now() - interval ''6 hours''';
    get diagnostics v_responses = row_count;
  end if;
  return jsonb_build_object('runs', v_runs, 'invocations', v_invocations, 'cron_history', v_cron, 'http_responses', v_responses);
end
$$;

revoke execute on all functions in schema peakwatch from public;

-- The jobs. cron.schedule upserts by name, so re-applying never duplicates a job.
do $$
begin
  if to_regclass('cron.job') is null then
    raise notice 'no pg_cron in database %: jobs not scheduled here', current_database();
    return;
  end if;
  perform cron.schedule('peakwatch-poller', '* * * * *',
    $job$select peakwatch.invoke_function('poller', '{"trigger": "cron", "async": true}')$job$);
  perform cron.schedule('peakwatch-tracker', '* * * * *',
    $job$select peakwatch.invoke_function('tracker', '{"trigger": "cron", "async": true}')$job$);
  perform cron.schedule('peakwatch-orchestrator', '* * * * *',
    $job$select peakwatch.invoke_function('orchestrator', '{"trigger": "cron", "async": true}')$job$);
  perform cron.schedule('peakwatch-token-refresh', '*/5 * * * *',
    $job$select peakwatch.invoke_function('token-refresh', '{"trigger": "cron"}', 30000)$job$);
  perform cron.schedule('peakwatch-collect-invocations', '* * * * *',
    $job$select peakwatch.collect_invocation_results()$job$);
  perform cron.schedule('peakwatch-housekeeping', '23 3 * * *',
    $job$select peakwatch.housekeeping()$job$);
end
$$;
