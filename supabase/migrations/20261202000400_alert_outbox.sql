-- Alerts never hold the database: an evaluation records what to announce in an outbox and commits;
-- the sends happen after, outside any transaction, and each message is marked sent. A sender that
-- dies after a send but before marking it leaves the row 'sending': it is sent again once (at most),
-- and `attempts` says so.
create table peakwatch.alert_outbox (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('health', 'ath')),
  notification jsonb not null,
  created_at timestamptz not null default now(),
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
  attempts integer not null default 0,
  last_attempt_at timestamptz,
  sent_at timestamptz,
  delivered_to text[] not null default '{}',
  last_error text check (last_error is null or length(last_error) <= 1000)
);
create index alert_outbox_open_idx on peakwatch.alert_outbox (created_at) where status in ('pending', 'sending');
create index alert_outbox_created_brin_idx on peakwatch.alert_outbox using brin (created_at);
alter table peakwatch.alert_outbox enable row level security;
revoke all on peakwatch.alert_outbox from public, anon, authenticated, service_role;

-- Hysteresis: what a check reads now (observed) beside what was last announced (status). A better
-- status is announced only once it has held for ALERT_CLEAR_AFTER_SECONDS, so a reading flapping
-- across a threshold sends one alert, not one a minute.
alter table peakwatch.alert_state
  add column observed_status text check (observed_status is null or observed_status in ('pass', 'warn', 'fail')),
  add column observed_since timestamptz;
