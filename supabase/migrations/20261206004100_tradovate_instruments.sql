-- Issue 18: the futures pipeline's 16 cron jobs (NQ, MNQ, ES, MES × 5/15/30/60 minutes) become
-- instruments and streams, driven by the one candles cron job. An instrument names the product; the
-- provider follows its front month (docs/tradovate.md). They arrive disabled: a deployment without a
-- Tradovate credential (TRADOVATE_CREDENTIAL) must not have 16 streams going red. Enable with
--   update peakwatch.instruments set enabled = true where provider = 'tradovate';

-- Tradovate minute bars line up with UTC buckets up to the hour; 4h and daily bars follow CME's
-- trade date, so they are not served (replaces h16a's definition, GeckoTerminal unchanged).
create or replace function peakwatch.candle_provider_serves(p_provider text, p_timeframe text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case p_provider
    when 'geckoterminal' then p_timeframe in ('1m', '5m', '15m', '1h', '4h', '12h', '1d')
    when 'tradovate' then p_timeframe in ('1m', '5m', '15m', '30m', '1h')
    else peakwatch.candle_timeframe_interval(p_timeframe) is not null
  end
$$;
revoke execute on function peakwatch.candle_provider_serves(text, text) from public;

insert into peakwatch.instruments (provider, network, symbol, token_side, calendar, enabled, backfill_days)
select 'tradovate', null, product, null, 'cme_globex', false, 0
from unnest(array['NQ', 'MNQ', 'ES', 'MES']) as product
on conflict on constraint instruments_identity_key do nothing;

insert into peakwatch.candle_streams (instrument_id, timeframe)
select i.id, timeframe
from peakwatch.instruments i
cross join unnest(array['5m', '15m', '30m', '1h']) as timeframe
where i.provider = 'tradovate' and i.network is null and i.symbol in ('NQ', 'MNQ', 'ES', 'MES')
on conflict on constraint candle_streams_instrument_timeframe_key do nothing;
