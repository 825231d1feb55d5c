-- What a tracker learned about a claimed batch, written in one call: token prices and status,
-- ATH and entry values of their calls, then the queue reschedule (complete) — one transaction.
--
-- p_checks: jsonb array of
--   {"token_id": 1, "outcome": "priced", "price_usd": 0.01, "market_cap_usd": 1e6, "liquidity_usd": 5e4,
--    "pair_address": "...", "dex_id": "raydium", "symbol": "X", "name": "X", "observed_at": "...", "source": "dexscreener"}
--   {"token_id": 2, "outcome": "no_pair", "reason": "not_in_response"}
-- A token that has never traded stays `pending` when it has no pair. One that traded before counts
-- consecutive misses and turns `dead` after p_dead_after of them; a dead token that trades again is
-- `active` again. Only rows this worker still holds are written.

-- The checks of a batch as rows, one per held token (the latest observation wins on duplicates).
create function peakwatch.checks_of(p_checks jsonb, p_held bigint[])
returns table (
  token_id bigint,
  outcome text,
  price_usd numeric,
  market_cap_usd numeric,
  liquidity_usd numeric,
  pair_address text,
  dex_id text,
  symbol text,
  name text,
  observed_at timestamptz,
  reason text
)
language sql
stable
set search_path = ''
as $$
  select distinct on (x.token_id)
    x.token_id, x.outcome, x.price_usd, x.market_cap_usd, x.liquidity_usd, x.pair_address, x.dex_id,
    left(x.symbol, 64), left(x.name, 200), coalesce(x.observed_at, now()), left(x.reason, 500)
  from jsonb_to_recordset(p_checks) as x(
    token_id bigint, outcome text, price_usd numeric, market_cap_usd numeric, liquidity_usd numeric,
    pair_address text, dex_id text, symbol text, name text, observed_at timestamptz, reason text
  )
  where x.token_id = any (p_held)
  order by x.token_id, x.observed_at desc nulls last
$$;

create function peakwatch.record_checks(p_worker text, p_checks jsonb, p_dead_after integer default 5)
returns table (token_id bigint, status text)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_held bigint[];
begin
  perform peakwatch.check_worker('record_checks', p_worker);
  if p_checks is null or jsonb_typeof(p_checks) <> 'array' then
    raise exception using errcode = '22023', message = 'record_checks: checks must be a JSON array';
  end if;
  if jsonb_array_length(p_checks) > 10000 then
    raise exception using errcode = '22023',
      message = format('record_checks: at most 10000 checks per call (got %s)', jsonb_array_length(p_checks));
  end if;
  if p_dead_after is null or p_dead_after < 1 then
    raise exception using errcode = '22023', message = 'record_checks: dead_after must be at least 1';
  end if;

  -- Lock the rows this worker holds; anything else (lease expired and re-claimed) is dropped.
  select coalesce(array_agg(locked.token_id order by locked.token_id), '{}') into v_held
  from (
    select q.token_id from peakwatch.queue q
    where q.token_id in (select (c->>'token_id')::bigint from jsonb_array_elements(p_checks) c)
      and q.claimed_by = p_worker
    order by q.token_id
    for update of q
  ) locked;

  if exists (
    select 1 from peakwatch.checks_of(p_checks, v_held) c
    where c.outcome not in ('priced', 'no_pair') or (c.outcome = 'priced' and not (c.price_usd > 0))
  ) then
    raise exception using errcode = '22023',
      message = 'record_checks: outcome must be priced (with price_usd > 0) or no_pair';
  end if;

  update peakwatch.tokens t
  set status = 'active',
      -- results can arrive out of order (retries, concurrent trackers): current values only move forward in time
      price_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at then c.price_usd else t.price_usd end,
      market_cap_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at then c.market_cap_usd else t.market_cap_usd end,
      liquidity_usd = case when t.last_priced_at is null or c.observed_at >= t.last_priced_at then c.liquidity_usd else t.liquidity_usd end,
      pair_address = coalesce(c.pair_address, t.pair_address),
      dex_id = coalesce(c.dex_id, t.dex_id),
      symbol = coalesce(t.symbol, c.symbol),
      name = coalesce(t.name, c.name),
      first_priced_at = least(t.first_priced_at, c.observed_at),
      last_priced_at = greatest(t.last_priced_at, c.observed_at),
      last_checked_at = now(),
      missing_checks = 0,
      last_error = null
  from peakwatch.checks_of(p_checks, v_held) c
  where t.id = c.token_id and c.outcome = 'priced';

  update peakwatch.tokens t
  set status = case
        when t.first_priced_at is null then 'pending'
        when t.status = 'dead' or t.missing_checks + 1 >= p_dead_after then 'dead'
        else t.status
      end,
      missing_checks = case when t.first_priced_at is null then 0 else t.missing_checks + 1 end,
      last_checked_at = now(),
      last_error = c.reason
  from peakwatch.checks_of(p_checks, v_held) c
  where t.id = c.token_id and c.outcome = 'no_pair';

  -- ATH since the call only ever rises; entry values are filled once, by the first price seen.
  update peakwatch.calls k
  set entry_price_usd = coalesce(k.entry_price_usd, c.price_usd),
      entry_market_cap_usd = coalesce(k.entry_market_cap_usd, c.market_cap_usd),
      ath_at = case when c.observed_at >= k.called_at and (k.ath_price_usd is null or c.price_usd > k.ath_price_usd)
                    then c.observed_at else k.ath_at end,
      ath_price_usd = case when c.observed_at >= k.called_at then greatest(k.ath_price_usd, c.price_usd) else k.ath_price_usd end,
      ath_market_cap_usd = case when c.observed_at >= k.called_at then greatest(k.ath_market_cap_usd, c.market_cap_usd)
                                else k.ath_market_cap_usd end
  from peakwatch.checks_of(p_checks, v_held) c
  where k.token_id = c.token_id and c.outcome = 'priced';

  perform peakwatch.complete(p_worker, v_held);

  return query
    select t.id, t.status from peakwatch.tokens t where t.id = any (v_held) order by t.id;
end
$$;

-- Hands rows back untouched (no attempt counted): a worker out of time returns what it did not start.
create function peakwatch.release(p_worker text, p_token_ids bigint[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform peakwatch.check_worker('release', p_worker);
  perform peakwatch.check_batch('release', p_token_ids);
  update peakwatch.queue q
  set due_at = now(), claimed_by = null, claimed_at = null, updated_at = now()
  where q.token_id = any (p_token_ids) and q.claimed_by = p_worker;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Current values come from the token, so a price update never fans out to every call row.
create view peakwatch.call_performance
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
  k.ath_price_usd / nullif(k.entry_price_usd, 0) - 1 as ath_roi
from peakwatch.calls k
join peakwatch.tokens t on t.id = k.token_id
join peakwatch.sources s on s.id = k.source_id;

revoke all on peakwatch.call_performance from public, anon, authenticated;
revoke execute on all functions in schema peakwatch from public;
