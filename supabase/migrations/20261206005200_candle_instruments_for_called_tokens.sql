-- Issue 16 says called tokens get an instrument for their priced pool on their own. The trigger of
-- 20261206002100 gave one to every token with a pool, called or not (trending and profile tokens
-- too), each with three streams and 180 days of backfill on GeckoTerminal's 30 calls a minute. Now a
-- token gets its instrument when it has a pool and a call, whichever comes last.

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
  if not exists (select 1 from peakwatch.calls k where k.token_id = p_token_id) then
    return null;
  end if;
  select t.chain, t.address, t.pair_address into v_chain, v_address, v_pool from peakwatch.tokens t where t.id = p_token_id;
  v_network := peakwatch.gecko_network(v_chain);
  -- a pool the tracker was told about but that cannot be one (empty, blank, too long) gets nothing:
  -- this runs inside the tracker's write, which must never fail because of it
  v_pool := btrim(v_pool);
  if v_pool is null or v_network is null or length(v_pool) not between 1 and 128 then
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

-- A call on a token that already has its pool: the instrument comes with the call.
create or replace function peakwatch.calls_candle_instrument()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform peakwatch.ensure_token_instrument(t.id)
  from (select distinct n.token_id from new_calls n) c
  join peakwatch.tokens t on t.id = c.token_id
  where t.pair_address is not null
    and not exists (select 1 from peakwatch.instruments i where i.token_id = t.id and i.provider = 'geckoterminal' and i.enabled);
  return null;
end
$$;

drop trigger if exists calls_candle_instrument on peakwatch.calls;
create trigger calls_candle_instrument after insert on peakwatch.calls
  referencing new table as new_calls
  for each statement execute function peakwatch.calls_candle_instrument();

-- Instruments made for tokens nobody called are switched off (kept: their candles stay readable).
update peakwatch.instruments i set enabled = false
where i.provider = 'geckoterminal' and i.enabled and i.token_id is not null
  and not exists (select 1 from peakwatch.calls k where k.token_id = i.token_id);

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
