-- Retention lives in one place: housekeeping (run by the orchestrator every minute, and daily by
-- pg_cron) now also prunes the alert outbox, which the outbox drain used to do on every drain.
create or replace function peakwatch.housekeeping(
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
  v_outbox integer;
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
  -- Alert messages are kept a week for the record once they are sent or given up on.
  delete from peakwatch.alert_outbox where id in (
    select o.id from peakwatch.alert_outbox o
    where o.status in ('sent', 'failed') and o.created_at < now() - interval '7 days'
    limit p_batch);
  get diagnostics v_outbox = row_count;
  return jsonb_build_object('runs', v_runs, 'invocations', v_invocations, 'cron_history', v_cron, 'http_responses', v_responses, 'alert_outbox', v_outbox);
end
$$;

revoke execute on function peakwatch.housekeeping(integer, integer, integer, integer) from public;
