-- Trading-session exceptions per calendar (issue 18): a trade date whose session does not happen
-- (closed) or ends early (early_close at close_time, in the calendar's own time zone; for
-- cme_globex America/Chicago). The regular week is code (_shared/candles/cme-calendar.ts); only the
-- exceptions are data, editable without a deploy. Freshness, gap detection and backfill read them.
create table peakwatch.market_holidays (
  calendar text not null check (calendar ~ '^[a-z0-9_]{1,32}$'),
  day date not null,
  kind text not null check (kind in ('closed', 'early_close')),
  close_time time,
  note text check (note is null or length(note) <= 200),
  primary key (calendar, day),
  check ((kind = 'early_close') = (close_time is not null))
);
alter table peakwatch.market_holidays enable row level security;
revoke all on peakwatch.market_holidays from public, anon, authenticated, service_role;

-- CME Globex equity-index futures (ES, MES, NQ, MNQ) holiday hours as CME announces them each year
-- (cmegroup.com "Holiday Calendar"). Check each year's announcement and edit these rows: CME has
-- changed Good Friday hours in some years.
insert into peakwatch.market_holidays (calendar, day, kind, close_time, note) values
  ('cme_globex', '2026-01-01', 'closed', null, 'New Year''s Day'),
  ('cme_globex', '2026-01-19', 'early_close', '12:00', 'Martin Luther King Jr. Day'),
  ('cme_globex', '2026-02-16', 'early_close', '12:00', 'Presidents Day'),
  ('cme_globex', '2026-04-03', 'closed', null, 'Good Friday'),
  ('cme_globex', '2026-05-25', 'early_close', '12:00', 'Memorial Day'),
  ('cme_globex', '2026-06-19', 'early_close', '12:00', 'Juneteenth'),
  ('cme_globex', '2026-07-03', 'early_close', '12:00', 'Independence Day (observed)'),
  ('cme_globex', '2026-09-07', 'early_close', '12:00', 'Labor Day'),
  ('cme_globex', '2026-11-26', 'early_close', '12:00', 'Thanksgiving'),
  ('cme_globex', '2026-11-27', 'early_close', '12:15', 'Day after Thanksgiving'),
  ('cme_globex', '2026-12-24', 'early_close', '12:15', 'Christmas Eve'),
  ('cme_globex', '2026-12-25', 'closed', null, 'Christmas'),
  ('cme_globex', '2027-01-01', 'closed', null, 'New Year''s Day'),
  ('cme_globex', '2027-01-18', 'early_close', '12:00', 'Martin Luther King Jr. Day'),
  ('cme_globex', '2027-02-15', 'early_close', '12:00', 'Presidents Day'),
  ('cme_globex', '2027-03-26', 'closed', null, 'Good Friday'),
  ('cme_globex', '2027-05-31', 'early_close', '12:00', 'Memorial Day'),
  ('cme_globex', '2027-06-18', 'early_close', '12:00', 'Juneteenth (observed)'),
  ('cme_globex', '2027-07-05', 'early_close', '12:00', 'Independence Day (observed)'),
  ('cme_globex', '2027-09-06', 'early_close', '12:00', 'Labor Day'),
  ('cme_globex', '2027-11-25', 'early_close', '12:00', 'Thanksgiving'),
  ('cme_globex', '2027-11-26', 'early_close', '12:15', 'Day after Thanksgiving'),
  ('cme_globex', '2027-12-24', 'closed', null, 'Christmas (observed)');
