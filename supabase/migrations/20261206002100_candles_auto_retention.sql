-- Issue 16, after the store: streams get their backfill target and a timeframe their provider
-- serves; called tokens get a GeckoTerminal instrument for their chosen pool on their own; candle
-- partitions are kept ahead and dropped past retention by housekeeping.

-- Our chain ids (DexScreener's) to GeckoTerminal network ids: the same map as toGeckoNetwork in
-- _shared/providers/geckoterminal.ts (a unit test holds them equal). Null for a chain without a
-- mapping: guessing would fetch the wrong network silently.
create or replace function peakwatch.gecko_network(p_chain text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case p_chain
    when 'ethereum' then 'eth' when 'bsc' then 'bsc' when 'polygon' then 'polygon_pos' when 'avalanche' then 'avax'
    when 'arbitrum' then 'arbitrum' when 'optimism' then 'optimism' when 'base' then 'base' when 'solana' then 'solana'
    when 'fantom' then 'ftm' when 'cronos' then 'cro' when 'zksync' then 'zksync' when 'linea' then 'linea'
    when 'blast' then 'blast' when 'scroll' then 'scroll' when 'mantle' then 'mantle' when 'celo' then 'celo'
    when 'pulsechain' then 'pulsechain' when 'sui' then 'sui-network' when 'ton' then 'ton' when 'tron' then 'tron'
  end
$$;

-- GeckoTerminal pool OHLCV serves day 1; hour 1, 4, 12; minute 1, 5, 15 (no 30m).
create or replace function peakwatch.candle_provider_serves(p_provider text, p_timeframe text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case p_provider
    when 'geckoterminal' then p_timeframe in ('1m', '5m', '15m', '1h', '4h', '12h', '1d')
    else peakwatch.candle_timeframe_interval(p_timeframe) is not null
  end
$$;

-- A new stream: its timeframe must be one its provider serves, and it backfills to its
-- instrument's depth (the bucket backfill_days ago) unless a target is given.
create or replace function peakwatch.candle_streams_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_provider text;
  v_days integer;
begin
  select i.provider, i.backfill_days into v_provider, v_days from peakwatch.instruments i where i.id = new.instrument_id;
  if not peakwatch.candle_provider_serves(v_provider, new.timeframe) then
    raise exception using errcode = '22023', message = format('candle_streams: %s does not serve %s bars', v_provider, new.timeframe);
  end if;
  if new.backfill_target is null and v_days > 0 then
    new.backfill_target := peakwatch.candle_bucket(new.timeframe, now() - make_interval(days => v_days));
  end if;
  return new;
end
$$;

drop trigger if exists candle_streams_before_insert on peakwatch.candle_streams;
create trigger candle_streams_before_insert before insert on peakwatch.candle_streams
  for each row execute function peakwatch.candle_streams_before_insert();

-- One GeckoTerminal instrument per (network, pool, token) with streams for the default timeframes.
-- token_side is the token's own address: GeckoTerminal's `token=<address>` prices the pool in that
-- token whichever side it is on, so a token that is its pool's quote gets its own candles without
-- us knowing the side. A token whose pool changes keeps the old instrument (its history stays
-- readable) but disabled, so it no longer spends the budget. Returns the instrument id, or null when
-- auto instruments are off or the chain has no GeckoTerminal network.
create or replace function peakwatch.ensure_token_instrument(p_token_id bigint)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_settings peakwatch.candle_settings;
  v_chain text;
  v_address text;
  v_pool text;
  v_network text;
  v_instrument bigint;
begin
  select * into v_settings from peakwatch.candle_settings;
  if not coalesce(v_settings.auto_instruments, false) then
    return null;
  end if;
  select t.chain, t.address, t.pair_address into v_chain, v_address, v_pool from peakwatch.tokens t where t.id = p_token_id;
  v_network := peakwatch.gecko_network(v_chain);
  if v_pool is null or v_network is null then
    return null;
  end if;
  insert into peakwatch.instruments as i (provider, network, symbol, token_side, token_id, backfill_days)
  values ('geckoterminal', v_network, v_pool, v_address, p_token_id, v_settings.backfill_days)
  on conflict (provider, network, symbol, token_side) do update
  set enabled = true, token_id = coalesce(i.token_id, excluded.token_id)
  returning i.id into v_instrument;
  insert into peakwatch.candle_streams (instrument_id, timeframe)
  select v_instrument, tf from unnest(v_settings.default_timeframes) tf
  on conflict (instrument_id, timeframe) do nothing;
  update peakwatch.instruments i set enabled = false
  where i.token_id = p_token_id and i.provider = 'geckoterminal' and i.id <> v_instrument and i.enabled;
  return v_instrument;
end
$$;

create or replace function peakwatch.tokens_candle_instrument()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform peakwatch.ensure_token_instrument(new.id);
  return null;
end
$$;

-- Row triggers with a WHEN clause: the tracker rewrites pair_address on every priced check, and the
-- clause (evaluated without calling the function) lets only a pool that actually changed through.
drop trigger if exists tokens_candle_instrument_insert on peakwatch.tokens;
create trigger tokens_candle_instrument_insert after insert on peakwatch.tokens
  for each row when (new.pair_address is not null) execute function peakwatch.tokens_candle_instrument();
drop trigger if exists tokens_candle_instrument_update on peakwatch.tokens;
create trigger tokens_candle_instrument_update after update of pair_address on peakwatch.tokens
  for each row when (new.pair_address is not null and new.pair_address is distinct from old.pair_address)
  execute function peakwatch.tokens_candle_instrument();

-- Tokens already priced when this arrives: their trading pools get instruments now.
select peakwatch.ensure_token_instrument(t.id) from peakwatch.tokens t where t.pair_address is not null and t.status = 'active';

-- Retention by partition: months wholly older than retention_months are dropped (DROP TABLE of a
-- partition, never a DELETE), and the current month plus partitions_ahead_months are made ahead so
-- writers rarely create one. A drop that cannot get its lock within 2 s is left for the next run.
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
  perform set_config('lock_timeout', '2s', true);
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
  v_candles jsonb;
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
  -- Candles: whole monthly partitions past retention are dropped; the next months are made ahead.
  v_candles := peakwatch.candle_retention();
  return jsonb_build_object('runs', v_runs, 'invocations', v_invocations, 'cron_history', v_cron, 'http_responses', v_responses,
    'alert_outbox', v_outbox, 'candle_partitions_dropped', (v_candles->>'dropped')::int, 'candle_partitions_skipped', (v_candles->>'skipped')::int,
    'candle_partitions_created', (v_candles->>'created')::int);
end
$$;

revoke all on all tables in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all sequences in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
