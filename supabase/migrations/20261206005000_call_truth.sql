-- Call truth from candles (issue 17). A call's ATH is verified against pool candles: the wick high
-- (highest high, never lowered) and the tradeable high (highest max(open, close), which a
-- verification may lower). Spot samples keep raising both between verifications. The entry a
-- caller did not send comes from the last minute candle that had closed by called_at.

alter table peakwatch.calls
  add column if not exists ath_tradeable_price_usd numeric check (ath_tradeable_price_usd > 0),
  add column if not exists ath_tradeable_at timestamptz,
  add column if not exists ath_source text not null default 'samples' check (ath_source in ('samples', 'candles')),
  add column if not exists ath_verified_at timestamptz,
  add column if not exists ath_resolution text,
  add column if not exists ath_tradeable_resolution text,
  add column if not exists entry_source text check (entry_source in ('caller', 'samples', 'candles'));

update peakwatch.calls
set ath_tradeable_price_usd = ath_price_usd,
    ath_tradeable_at = ath_at,
    entry_source = case
      when entry_price_usd is null then null
      when entry_observed_at = called_at and entry_approximate is false then 'caller'
      else 'samples' end
where ath_tradeable_price_usd is null;

-- The verification state of each call: a queue row (due_at, lease) plus what candles said so far.
create table if not exists peakwatch.call_verifications (
  call_id bigint primary key references peakwatch.calls (id) on delete cascade,
  token_id bigint not null references peakwatch.tokens (id) on delete cascade,
  called_at timestamptz not null,
  due_at timestamptz not null default now(),
  lease_until timestamptz,
  lease_owner text,
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  -- End of the last whole minute verified: the next verification reads only what came after it.
  verified_through timestamptz,
  wick_usd numeric check (wick_usd > 0),
  wick_at timestamptz,
  wick_resolution text,
  tradeable_usd numeric check (tradeable_usd > 0),
  tradeable_at timestamptz,
  tradeable_resolution text,
  -- The spot-sampled ATH just before the latest verification, and how far candles moved it.
  sampled_ath_usd numeric,
  correction_pct numeric,
  reads bigint not null default 0,
  verified_at timestamptz,
  created_at timestamptz not null default now()
);
create index if not exists call_verifications_due_idx on peakwatch.call_verifications (due_at);
create index if not exists call_verifications_called_idx on peakwatch.call_verifications (called_at);
create index if not exists call_verifications_verified_idx on peakwatch.call_verifications (verified_at) where verified_at is not null;
alter table peakwatch.call_verifications enable row level security;

-- The pools a token traded in, with the time peakwatch saw it move to each (a bonding curve
-- graduating to an AMM pool). Verification reads every pool, so an ATH in either is found.
create table if not exists peakwatch.token_pools (
  token_id bigint not null references peakwatch.tokens (id) on delete cascade,
  pool_address text not null,
  dex_id text,
  first_seen_at timestamptz not null default now(),
  -- When the token's chosen pair moved to this pool; null for the first pool seen.
  migrated_at timestamptz,
  primary key (token_id, pool_address)
);
alter table peakwatch.token_pools enable row level security;

insert into peakwatch.token_pools (token_id, pool_address, dex_id, first_seen_at)
select t.id, t.pair_address, t.dex_id, coalesce(t.first_priced_at, t.created_at)
from peakwatch.tokens t where t.pair_address is not null
on conflict do nothing;

create or replace function peakwatch.tokens_record_pool()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into peakwatch.token_pools (token_id, pool_address, dex_id, migrated_at)
  select n.id, n.pair_address, n.dex_id,
         case when exists (select 1 from peakwatch.token_pools p where p.token_id = n.id) then now() end
  from new_tokens n
  where n.pair_address is not null
  on conflict (token_id, pool_address) do nothing;
  return null;
end
$$;

drop trigger if exists tokens_record_pool_insert on peakwatch.tokens;
create trigger tokens_record_pool_insert after insert on peakwatch.tokens
  referencing new table as new_tokens
  for each statement execute function peakwatch.tokens_record_pool();
drop trigger if exists tokens_record_pool_update on peakwatch.tokens;
create trigger tokens_record_pool_update after update on peakwatch.tokens
  referencing new table as new_tokens
  for each statement execute function peakwatch.tokens_record_pool();

-- Every call gets a verification row, due at once.
insert into peakwatch.call_verifications (call_id, token_id, called_at)
select id, token_id, called_at from peakwatch.calls
on conflict do nothing;

create or replace function peakwatch.calls_enqueue_verification()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into peakwatch.call_verifications (call_id, token_id, called_at)
  select id, token_id, called_at from new_calls
  on conflict do nothing;
  return null;
end
$$;

drop trigger if exists calls_enqueue_verification on peakwatch.calls;
create trigger calls_enqueue_verification after insert on peakwatch.calls
  referencing new table as new_calls
  for each statement execute function peakwatch.calls_enqueue_verification();

-- Where the entry came from, and spot samples raising the tradeable high with the wick high.
-- A verification sets ath_verified_at; an update that leaves it alone is the tracker's.
create or replace function peakwatch.calls_sample_rules()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.entry_source := case
      when new.entry_price_usd is null then null
      when new.entry_observed_at = new.called_at and new.entry_approximate is false then 'caller'
      else 'samples' end;
    new.ath_tradeable_price_usd := new.ath_price_usd;
    new.ath_tradeable_at := new.ath_at;
    return new;
  end if;
  if new.ath_verified_at is not distinct from old.ath_verified_at then
    if new.entry_price_usd is distinct from old.entry_price_usd and new.entry_source is not distinct from old.entry_source then
      new.entry_source := case when new.entry_price_usd is null then null else 'samples' end;
    end if;
    if new.ath_price_usd > coalesce(old.ath_price_usd, 0) then
      if new.ath_price_usd > coalesce(new.ath_tradeable_price_usd, 0) then
        new.ath_tradeable_price_usd := new.ath_price_usd;
        new.ath_tradeable_at := new.ath_at;
      end if;
    end if;
  end if;
  return new;
end
$$;

drop trigger if exists calls_sample_rules on peakwatch.calls;
create trigger calls_sample_rules before insert or update on peakwatch.calls
  for each row execute function peakwatch.calls_sample_rules();

-- A new sampled peak on a young call makes its verification due now.
create or replace function peakwatch.calls_peak_due()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update peakwatch.call_verifications v
  set due_at = now()
  from new_calls n join old_calls o on o.id = n.id
  where v.call_id = n.id
    and n.ath_price_usd > coalesce(o.ath_price_usd, 0)
    and n.ath_verified_at is not distinct from o.ath_verified_at
    and n.called_at > now() - peakwatch.young_call_age()
    and v.due_at > now();
  return null;
end
$$;

create or replace function peakwatch.young_call_age()
returns interval
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('peakwatch.young_call_age', true), '')::interval, interval '24 hours')
$$;

drop trigger if exists calls_peak_due on peakwatch.calls;
create trigger calls_peak_due after update on peakwatch.calls
  referencing old table as old_calls new table as new_calls
  for each statement execute function peakwatch.calls_peak_due();

-- claim: young calls first (a call under 24 h is re-verified every few minutes), then the backlog
-- of older calls in due order. A claim moves due_at past the lease, so a crash loses nothing.
drop function if exists peakwatch.claim_call_verifications(text, integer, integer, boolean);
create function peakwatch.claim_call_verifications(p_owner text, p_limit integer, p_lease_seconds integer, p_young boolean)
returns table (
  call_id bigint, token_id bigint, chain text, token_address text, called_at timestamptz,
  verified_through timestamptz, wick_usd numeric, wick_at timestamptz, tradeable_usd numeric, tradeable_at timestamptz,
  entry_price_usd numeric, entry_source text, entry_approximate boolean,
  pools text[], attempts integer
)
language plpgsql
set search_path = ''
as $$
begin
  if p_owner is null or length(p_owner) = 0 then
    raise exception using errcode = '22023', message = 'claim_call_verifications: owner is required';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception using errcode = '22023', message = 'claim_call_verifications: limit must be 1..1000';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 or p_lease_seconds > 3600 then
    raise exception using errcode = '22023', message = 'claim_call_verifications: lease must be 1..3600 seconds';
  end if;
  return query
  with picked as (
    select v.call_id from peakwatch.call_verifications v
    where v.due_at <= now()
      and (v.called_at > now() - peakwatch.young_call_age()) = p_young
    order by v.due_at
    limit p_limit
    for update skip locked
  ), claimed as (
    update peakwatch.call_verifications v
    set lease_owner = p_owner,
        lease_until = now() + make_interval(secs => p_lease_seconds),
        due_at = now() + make_interval(secs => p_lease_seconds)
    from picked where v.call_id = picked.call_id
    returning v.*
  )
  select c.call_id, c.token_id, t.chain, t.address, c.called_at,
         c.verified_through, c.wick_usd, c.wick_at, c.tradeable_usd, c.tradeable_at,
         k.entry_price_usd, k.entry_source, k.entry_approximate,
         coalesce((select array_agg(p.pool_address order by p.first_seen_at) from peakwatch.token_pools p where p.token_id = c.token_id),
                  case when t.pair_address is not null then array[t.pair_address] else '{}'::text[] end),
         c.attempts
  from claimed c
  join peakwatch.tokens t on t.id = c.token_id
  join peakwatch.calls k on k.id = c.call_id
  order by c.called_at desc;
end
$$;

-- complete: one round trip for a batch of verdicts (JSON array of objects, one per call).
--   {call_id, verified_through, wick_usd, wick_at, wick_resolution, tradeable_usd, tradeable_at,
--    tradeable_resolution, entry_usd, entry_observed_at, entry_approximate, reads, next_due_at}
-- The wick high only ever rises; the tradeable high is what candles say (samples' raises since the
-- last verification are replaced). A candle entry replaces a sampled or missing one, never the caller's.
create or replace function peakwatch.complete_call_verifications(p_owner text, p_verdicts jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if p_verdicts is null or jsonb_typeof(p_verdicts) <> 'array' then
    raise exception using errcode = '22023', message = 'complete_call_verifications: verdicts must be a JSON array';
  end if;

  if exists (
    select 1 from jsonb_to_recordset(p_verdicts) as r(call_id bigint, next_due_at timestamptz, wick_usd numeric, tradeable_usd numeric, entry_usd numeric)
    where r.call_id is null or r.next_due_at is null or r.wick_usd <= 0 or r.tradeable_usd <= 0 or r.entry_usd <= 0
  ) then
    raise exception using errcode = '22023',
      message = 'complete_call_verifications: each verdict needs call_id and next_due_at; prices must be positive';
  end if;

  -- Only rows this owner still holds; a verdict for a lease that expired and was re-claimed is dropped.
  with verdicts as (
    select distinct on (r.call_id) r.* from jsonb_to_recordset(p_verdicts) as r(
      call_id bigint, verified_through timestamptz,
      wick_usd numeric, wick_at timestamptz, wick_resolution text,
      tradeable_usd numeric, tradeable_at timestamptz, tradeable_resolution text,
      entry_usd numeric, entry_observed_at timestamptz, entry_approximate boolean,
      reads integer, next_due_at timestamptz)
    order by r.call_id
  ), held as (
    select v.call_id from peakwatch.call_verifications v join verdicts d using (call_id)
    where v.lease_owner = p_owner
    for update of v
  ), state as (
    update peakwatch.call_verifications v
    set verified_through = coalesce(d.verified_through, v.verified_through),
        wick_usd = case when d.wick_usd > coalesce(v.wick_usd, 0) then d.wick_usd else v.wick_usd end,
        wick_at = case when d.wick_usd > coalesce(v.wick_usd, 0) then d.wick_at else v.wick_at end,
        wick_resolution = case when d.wick_usd > coalesce(v.wick_usd, 0) then d.wick_resolution else v.wick_resolution end,
        tradeable_usd = case when d.tradeable_usd > coalesce(v.tradeable_usd, 0) then d.tradeable_usd else v.tradeable_usd end,
        tradeable_at = case when d.tradeable_usd > coalesce(v.tradeable_usd, 0) then d.tradeable_at else v.tradeable_at end,
        tradeable_resolution = case when d.tradeable_usd > coalesce(v.tradeable_usd, 0) then d.tradeable_resolution else v.tradeable_resolution end,
        sampled_ath_usd = k.ath_price_usd,
        correction_pct = case when k.ath_price_usd > 0 and greatest(d.wick_usd, v.wick_usd) > 0
                              then round((greatest(d.wick_usd, v.wick_usd) / k.ath_price_usd - 1) * 100, 4) end,
        reads = v.reads + coalesce(d.reads, 0),
        attempts = 0,
        last_error = null,
        lease_owner = null,
        lease_until = null,
        due_at = d.next_due_at,
        verified_at = case when d.wick_usd is not null or d.tradeable_usd is not null then now() else v.verified_at end
    from held h join verdicts d using (call_id) join peakwatch.calls k on k.id = h.call_id
    where v.call_id = h.call_id
    returning v.*
  )
  update peakwatch.calls k
  set ath_price_usd = greatest(k.ath_price_usd, s.wick_usd),
      ath_at = case when s.wick_usd > coalesce(k.ath_price_usd, 0) then s.wick_at else k.ath_at end,
      ath_resolution = case when s.wick_usd >= coalesce(k.ath_price_usd, 0) then s.wick_resolution else k.ath_resolution end,
      ath_tradeable_price_usd = coalesce(s.tradeable_usd, k.ath_tradeable_price_usd),
      ath_tradeable_at = case when s.tradeable_usd is not null then s.tradeable_at else k.ath_tradeable_at end,
      ath_tradeable_resolution = coalesce(s.tradeable_resolution, k.ath_tradeable_resolution),
      ath_source = case when s.wick_usd is not null then 'candles' else k.ath_source end,
      ath_verified_at = case when s.wick_usd is not null then now() else k.ath_verified_at end,
      entry_price_usd = case when d.entry_usd is not null and k.entry_source is distinct from 'caller'
                              and (k.entry_price_usd is null or k.entry_source is distinct from 'candles' or k.entry_approximate)
                             then d.entry_usd else k.entry_price_usd end,
      entry_observed_at = case when d.entry_usd is not null and k.entry_source is distinct from 'caller'
                              and (k.entry_price_usd is null or k.entry_source is distinct from 'candles' or k.entry_approximate)
                             then d.entry_observed_at else k.entry_observed_at end,
      entry_approximate = case when d.entry_usd is not null and k.entry_source is distinct from 'caller'
                              and (k.entry_price_usd is null or k.entry_source is distinct from 'candles' or k.entry_approximate)
                             then d.entry_approximate else k.entry_approximate end,
      entry_source = case when d.entry_usd is not null and k.entry_source is distinct from 'caller'
                              and (k.entry_price_usd is null or k.entry_source is distinct from 'candles' or k.entry_approximate)
                             then 'candles' else k.entry_source end,
      -- the entry market cap scales with the price (same supply)
      entry_market_cap_usd = case when d.entry_usd is not null and k.entry_source is distinct from 'caller'
                              and (k.entry_price_usd is null or k.entry_source is distinct from 'candles' or k.entry_approximate)
                              and k.entry_price_usd > 0 and k.entry_market_cap_usd > 0
                             then k.entry_market_cap_usd * d.entry_usd / k.entry_price_usd else k.entry_market_cap_usd end
  from state s join verdicts d using (call_id)
  where k.id = s.call_id;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- fail: counted, retried later; the lease ends so nothing waits on it.
create or replace function peakwatch.fail_call_verifications(p_owner text, p_call_ids bigint[], p_error text, p_retry_at timestamptz)
returns integer
language sql
set search_path = ''
as $$
  with failed as (
    update peakwatch.call_verifications v
    set attempts = v.attempts + 1, last_error = left(p_error, 500), lease_owner = null, lease_until = null, due_at = p_retry_at
    where v.call_id = any (p_call_ids) and v.lease_owner = p_owner
    returning 1
  )
  select count(*)::integer from failed
$$;

-- release: hand back calls a run could not get to (budget or time spent); not an attempt, due now.
create or replace function peakwatch.release_call_verifications(p_owner text, p_call_ids bigint[])
returns integer
language sql
set search_path = ''
as $$
  with released as (
    update peakwatch.call_verifications v
    set lease_owner = null, lease_until = null, due_at = now()
    where v.call_id = any (p_call_ids) and v.lease_owner = p_owner
    returning 1
  )
  select count(*)::integer from released
$$;

-- Each migration ends with its own revokes (see 20261202003100_rls_and_grants.sql).
revoke all on all tables in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all sequences in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
