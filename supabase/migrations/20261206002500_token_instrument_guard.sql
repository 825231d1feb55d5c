-- Issue 16: the auto-instrument trigger runs inside record_checks, so nothing a provider says may make
-- it fail. The fuzzer (fuzz-writes) found a priced DexScreener pair with an empty pairAddress: the
-- instrument's symbol check refused it and the tracker's whole batch failed. A pool that cannot be
-- an instrument (empty, blank, longer than 128) now gets none.

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

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
