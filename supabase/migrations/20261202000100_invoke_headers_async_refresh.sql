-- Deployable on hosted Supabase:
-- * the cron helper sends a new-style secret key (sb_secret_…) in the `apikey` header, as Supabase
--   documents; Bearer is only for the legacy service-role JWT;
-- * token-refresh answers 202 under cron and refreshes in the background: its worst case (several
--   credentials, a penalty wait) is longer than pg_net's timeout.

create or replace function peakwatch.invoke_function(
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
    headers := jsonb_build_object('Content-Type', 'application/json')
      || case when v_key like 'sb\_secret\_%' then jsonb_build_object('apikey', v_key)
              else jsonb_build_object('Authorization', 'Bearer ' || v_key) end,
    timeout_milliseconds := p_timeout_ms
  ) into v_request_id;
  insert into peakwatch.invocations (request_id, function_name) values (v_request_id, p_name);
  return v_request_id;
end
$$;

revoke execute on function peakwatch.invoke_function(text, jsonb, integer) from public;

do $$
begin
  if to_regclass('cron.job') is null then
    return;
  end if;
  perform cron.schedule('peakwatch-token-refresh', '*/5 * * * *',
    $job$select peakwatch.invoke_function('token-refresh', '{"trigger": "cron", "async": true}')$job$);
end
$$;
