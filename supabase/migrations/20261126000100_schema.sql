-- peakwatch schema: tokens, calls, queue, runs, sources.
-- The schema is private: it is not in config.toml [api].schemas and no API role gets a grant,
-- so PostgREST (anon, authenticated) cannot reach it. Functions talk to it over SUPABASE_DB_URL.

create schema if not exists extensions;
create schema if not exists peakwatch;

revoke all on schema peakwatch from public;
revoke all on schema peakwatch from anon, authenticated, service_role;
-- Functions are executable by PUBLIC unless told otherwise; nothing here is meant for API roles.
alter default privileges in schema peakwatch revoke execute on functions from public;
alter default privileges in schema peakwatch revoke all on tables from public;
alter default privileges in schema peakwatch revoke all on sequences from public;

-- EVM addresses are case-insensitive hex; storing them lowercased is what makes (chain, address)
-- unique in practice. Other chains (Solana base58, …) are case-sensitive and kept as given.
create function peakwatch.normalize_address(p_address text)
returns text
language sql
immutable
strict
set search_path = ''
as $$
  select case
    when btrim(p_address) ~ '^0[xX][0-9a-fA-F]{40}$' then lower(btrim(p_address))
    else btrim(p_address)
  end
$$;

create table peakwatch.sources (
  id bigint generated always as identity primary key,
  name text not null check (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  kind text not null check (kind in ('manual', 'http_feed', 'dexscreener_profiles', 'geckoterminal_trending')),
  config jsonb not null default '{}'::jsonb check (jsonb_typeof(config) = 'object'),
  cursor text,
  poll_interval_seconds integer not null default 60 check (poll_interval_seconds between 10 and 86400),
  enabled boolean not null default true,
  next_poll_at timestamptz not null default now(),
  last_polled_at timestamptz,
  last_success_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint sources_name_key unique (name)
);

create table peakwatch.tokens (
  id bigint generated always as identity primary key,
  chain text not null check (chain ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  address text not null check (length(address) between 1 and 128),
  symbol text,
  name text,
  status text not null default 'pending' check (status in ('pending', 'active', 'dead')),
  pair_address text,
  dex_id text,
  price_usd numeric check (price_usd > 0),
  market_cap_usd numeric check (market_cap_usd >= 0),
  liquidity_usd numeric check (liquidity_usd >= 0),
  first_priced_at timestamptz,
  last_priced_at timestamptz,
  last_checked_at timestamptz,
  missing_checks integer not null default 0 check (missing_checks >= 0),
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tokens_chain_address_key unique (chain, address)
);

create table peakwatch.calls (
  id bigint generated always as identity primary key,
  source_id bigint not null references peakwatch.sources (id),
  external_id text not null check (length(external_id) between 1 and 200),
  token_id bigint not null references peakwatch.tokens (id) on delete cascade,
  ticker text,
  group_name text,
  called_at timestamptz not null,
  entry_price_usd numeric check (entry_price_usd > 0),
  entry_market_cap_usd numeric check (entry_market_cap_usd > 0),
  ath_price_usd numeric check (ath_price_usd > 0),
  ath_market_cap_usd numeric check (ath_market_cap_usd > 0),
  ath_at timestamptz,
  created_at timestamptz not null default now(),
  constraint calls_source_external_key unique (source_id, external_id)
);
create index calls_token_id_idx on peakwatch.calls (token_id);
create index calls_created_at_idx on peakwatch.calls using brin (created_at);

-- One row per token. priority: 0 = never checked (claimed first), 1 = refresh, 2 = slow re-check
-- (pending without a pair, dead). A claim moves due_at forward by the lease, so a worker that dies
-- holding rows loses nothing: they are simply due again when the lease runs out.
create table peakwatch.queue (
  token_id bigint primary key references peakwatch.tokens (id) on delete cascade,
  chain text not null,
  priority smallint not null default 1 check (priority between 0 and 2),
  due_at timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  claimed_by text,
  claimed_at timestamptz,
  dead_lettered_at timestamptz,
  enqueued_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index queue_claim_idx on peakwatch.queue (priority, due_at) where dead_lettered_at is null;
create index queue_due_idx on peakwatch.queue (due_at) where dead_lettered_at is null;
-- A fixed 1-in-16 sample of the due index (by token id, which is unrelated to due time): backlog()
-- estimates counts and percentiles from it when the due backlog is too large to walk exactly.
create index queue_due_sample_idx on peakwatch.queue (due_at) include (priority)
  where dead_lettered_at is null and token_id % 16 = 0;
create index queue_dead_letter_idx on peakwatch.queue (dead_lettered_at) where dead_lettered_at is not null;

create table peakwatch.runs (
  id bigint generated always as identity primary key,
  function_name text not null check (function_name ~ '^[a-z][a-z0-9-]{0,39}$'),
  trigger text not null default 'http' check (trigger in ('http', 'cron', 'orchestrator', 'test')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  outcome text not null default 'running' check (outcome in ('running', 'ok', 'partial', 'error')),
  counts jsonb not null default '{}'::jsonb check (jsonb_typeof(counts) = 'object'),
  error text,
  constraint runs_finished_has_outcome check ((finished_at is null) = (outcome = 'running'))
);
create index runs_function_started_idx on peakwatch.runs (function_name, started_at desc);
create index runs_last_ok_idx on peakwatch.runs (function_name, finished_at desc) where outcome = 'ok';
create index runs_started_brin_idx on peakwatch.runs using brin (started_at);

create function peakwatch.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create function peakwatch.tokens_normalize()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.address := peakwatch.normalize_address(new.address);
  new.chain := lower(btrim(new.chain));
  new.updated_at := now();
  return new;
end
$$;

-- Statement-level with a transition table: a batch insert of 1,000 tokens queues them in one
-- statement. Rows merged by ON CONFLICT DO UPDATE are not in new_tokens, so nothing is re-queued.
create function peakwatch.tokens_enqueue_new()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into peakwatch.queue (token_id, chain, priority, due_at)
  select n.id, n.chain, 0, now() from new_tokens n
  on conflict (token_id) do nothing;
  return null;
end
$$;

create trigger tokens_normalize before insert or update on peakwatch.tokens
  for each row execute function peakwatch.tokens_normalize();
create trigger tokens_enqueue_new after insert on peakwatch.tokens
  referencing new table as new_tokens
  for each statement execute function peakwatch.tokens_enqueue_new();
create trigger sources_touch before update on peakwatch.sources
  for each row execute function peakwatch.touch_updated_at();

-- Calls posted by hand or by another bot have a source too.
insert into peakwatch.sources (name, kind, enabled) values ('manual', 'manual', false)
on conflict (name) do nothing;
