-- Upstream credentials. Three tables, three kinds of data:
--   credentials               which credentials exist: name, strategy, non-secret config (or env PEAKWATCH_CREDENTIALS)
--   credential_status         how each one's latest check went (seconds to expiry, last error) — health reads it
--   credential_refresh_tokens the one secret that changes at runtime: a rotating OAuth2 refresh token.
-- Access tokens live in Redis only (key TTL = their real expiry). Configured secrets (client secrets,
-- passwords, API keys) never live here; they come from the environment (Edge Function secrets).

create table peakwatch.credentials (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  strategy text not null check (strategy in ('oauth2_client_credentials', 'oauth2_refresh_token', 'tradovate')),
  config jsonb not null default '{}'::jsonb check (jsonb_typeof(config) = 'object'),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- A guard, not a guarantee: a secret pasted into config under one of the usual names is refused.
  constraint credentials_config_has_no_secrets
    check (not (config ?| array['client_secret', 'secret', 'password', 'sec', 'refresh_token', 'access_token', 'api_key']))
);
create trigger credentials_touch before update on peakwatch.credentials
  for each row execute function peakwatch.touch_updated_at();

create table peakwatch.credential_status (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  strategy text not null,
  -- Expiry of the access token in Redis as of the last check; null when there was none.
  expires_at timestamptz,
  last_checked_at timestamptz not null,
  last_outcome text not null check (last_outcome in ('fresh', 'refreshed', 'failed')),
  last_refreshed_at timestamptz,
  -- The latest failure stays visible after a recovery; last_error_at and consecutive_failures say whether it is current.
  last_error text,
  last_error_at timestamptz,
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  updated_at timestamptz not null default now()
);

-- Secret. The chain starts from the env seed (seed_fingerprint = its SHA-256); every rotation bumps
-- version, and a rotation is written only over the version it was made from, so a stale refresher
-- can never put back an older token. On Supabase this table could move into Vault (see README).
create table peakwatch.credential_refresh_tokens (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  token text not null check (length(token) between 1 and 8192),
  version bigint not null default 1 check (version >= 1),
  seed_fingerprint text not null check (seed_fingerprint ~ '^[0-9a-f]{64}$'),
  rotated_at timestamptz not null default now()
);

revoke all on peakwatch.credentials, peakwatch.credential_status, peakwatch.credential_refresh_tokens
  from public, anon, authenticated, service_role;

-- Records one token-refresh run's checks in one round trip.
-- p_checks: [{"name": "feed", "strategy": "tradovate", "outcome": "refreshed", "expires_at": "...", "error": null}]
create function peakwatch.record_credential_checks(p_checks jsonb)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_count integer;
begin
  if p_checks is null or jsonb_typeof(p_checks) <> 'array' then
    raise exception using errcode = '22023', message = 'record_credential_checks: p_checks must be a json array';
  end if;
  insert into peakwatch.credential_status as s (
    name, strategy, expires_at, last_checked_at, last_outcome, last_refreshed_at, last_error, last_error_at, consecutive_failures, updated_at
  )
  select c.name, c.strategy, c.expires_at, now(), c.outcome,
    case when c.outcome = 'refreshed' then now() end,
    case when c.outcome = 'failed' then left(coalesce(c.error, 'unknown error'), 500) end,
    case when c.outcome = 'failed' then now() end,
    case when c.outcome = 'failed' then 1 else 0 end,
    now()
  from jsonb_to_recordset(p_checks) as c(name text, strategy text, outcome text, expires_at timestamptz, error text)
  on conflict (name) do update set
    strategy = excluded.strategy,
    expires_at = excluded.expires_at,
    last_checked_at = excluded.last_checked_at,
    last_outcome = excluded.last_outcome,
    last_refreshed_at = coalesce(excluded.last_refreshed_at, s.last_refreshed_at),
    last_error = coalesce(excluded.last_error, s.last_error),
    last_error_at = coalesce(excluded.last_error_at, s.last_error_at),
    consecutive_failures = case when excluded.last_outcome = 'failed' then s.consecutive_failures + 1 else 0 end,
    updated_at = now();
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- The current refresh token of a credential. The env seed starts the chain; a seed whose
-- fingerprint differs from the one the chain started from means an operator re-seeded, and the
-- new seed replaces the chain.
create function peakwatch.refresh_token_current(p_name text, p_seed text, p_seed_fingerprint text)
returns table (token text, version bigint)
language plpgsql
volatile
set search_path = ''
as $$
begin
  insert into peakwatch.credential_refresh_tokens as r (name, token, version, seed_fingerprint)
  values (p_name, p_seed, 1, p_seed_fingerprint)
  on conflict (name) do update
    set token = excluded.token, version = r.version + 1, seed_fingerprint = excluded.seed_fingerprint, rotated_at = now()
    where r.seed_fingerprint <> excluded.seed_fingerprint;
  return query select r.token, r.version from peakwatch.credential_refresh_tokens r where r.name = p_name;
end
$$;

-- Stores a rotated refresh token over the version it was made from. Returns the new version, or
-- null when the stored chain has moved on (another refresher rotated first, or a re-seed).
create function peakwatch.refresh_token_rotate(p_name text, p_from_version bigint, p_token text)
returns bigint
language sql
volatile
set search_path = ''
as $$
  update peakwatch.credential_refresh_tokens
  set token = p_token, version = version + 1, rotated_at = now()
  where name = p_name and version = p_from_version
  returning version
$$;

revoke execute on all functions in schema peakwatch from public;
