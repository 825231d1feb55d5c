-- Outcomes at horizons (issue 17): what call groups and signal bots are judged on, read from the
-- candles of every pool the token traded in, at the finest timeframe stored for them. Bars that
-- start before the call are left out (a price before the call is not an outcome of it), and a bar is
-- counted in the horizon it starts in, so figures rest on `resolution`.
create or replace view peakwatch.call_outcomes
with (security_invoker = true) as
select
  k.id as call_id,
  k.called_at,
  k.entry_price_usd,
  src.timeframe as resolution,
  m.bars,
  m.tradeable_1h / k.entry_price_usd as max_multiple_1h,
  m.tradeable_6h / k.entry_price_usd as max_multiple_6h,
  m.tradeable_24h / k.entry_price_usd as max_multiple_24h,
  m.tradeable_48h / k.entry_price_usd as max_multiple_48h,
  m.tradeable_7d / k.entry_price_usd as max_multiple_7d,
  m.wick_7d / k.entry_price_usd as max_wick_multiple_7d,
  peak.bucket - k.called_at as time_to_ath,
  peak.bucket as ath_bucket,
  (select min(c.low) from peakwatch.candles c
    where c.instrument_id = any (src.instrument_ids) and c.timeframe = src.timeframe
      and c.bucket >= k.called_at and c.bucket <= peak.bucket) / k.entry_price_usd - 1 as max_drawdown_before_ath
from peakwatch.calls k
cross join lateral (
  select s.timeframe, array_agg(i.id) as instrument_ids
  from peakwatch.token_pools p
  join peakwatch.tokens t on t.id = p.token_id
  join peakwatch.instruments i
    on i.provider = 'geckoterminal' and i.symbol = p.pool_address and (i.token_id = t.id or i.token_side = t.address)
  join peakwatch.candle_streams s on s.instrument_id = i.id
  where p.token_id = k.token_id
  group by s.timeframe
  order by peakwatch.candle_timeframe_interval(s.timeframe)
  limit 1
) src
cross join lateral (
  select
    count(*) as bars,
    max(greatest(c.open, c.close)) filter (where c.bucket < k.called_at + interval '1 hour') as tradeable_1h,
    max(greatest(c.open, c.close)) filter (where c.bucket < k.called_at + interval '6 hours') as tradeable_6h,
    max(greatest(c.open, c.close)) filter (where c.bucket < k.called_at + interval '24 hours') as tradeable_24h,
    max(greatest(c.open, c.close)) filter (where c.bucket < k.called_at + interval '48 hours') as tradeable_48h,
    max(greatest(c.open, c.close)) as tradeable_7d,
    max(c.high) as wick_7d
  from peakwatch.candles c
  where c.instrument_id = any (src.instrument_ids) and c.timeframe = src.timeframe
    and c.bucket >= k.called_at and c.bucket < k.called_at + interval '7 days'
) m
left join lateral (
  select c.bucket from peakwatch.candles c
  where c.instrument_id = any (src.instrument_ids) and c.timeframe = src.timeframe
    and c.bucket >= k.called_at and c.bucket < k.called_at + interval '7 days'
  order by c.high desc, c.bucket
  limit 1
) peak on true
where k.entry_price_usd > 0;

-- call_performance gains the verified figures (appended: a view keeps its existing columns in place).
create or replace view peakwatch.call_performance
with (security_invoker = true)
as
select
  k.id as call_id,
  s.name as source,
  k.external_id,
  k.ticker,
  k.group_name,
  k.called_at,
  t.chain,
  t.address,
  t.status,
  k.entry_price_usd,
  k.entry_market_cap_usd,
  t.price_usd,
  t.market_cap_usd,
  t.last_priced_at,
  k.ath_price_usd,
  k.ath_market_cap_usd,
  k.ath_at,
  t.price_usd / nullif(k.entry_price_usd, 0) - 1 as roi,
  k.ath_price_usd / nullif(k.entry_price_usd, 0) - 1 as ath_roi,
  k.entry_approximate,
  k.entry_observed_at,
  k.entry_source,
  k.ath_tradeable_price_usd,
  k.ath_tradeable_at,
  k.ath_tradeable_price_usd / nullif(k.entry_price_usd, 0) - 1 as tradeable_ath_roi,
  k.ath_source,
  k.ath_resolution,
  k.ath_verified_at
from peakwatch.calls k
join peakwatch.tokens t on t.id = k.token_id
join peakwatch.sources s on s.id = k.source_id;

revoke all on all tables in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
