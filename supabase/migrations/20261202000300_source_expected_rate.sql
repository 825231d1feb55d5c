-- Silent sources: a source may declare the floor of new calls it should bring over a window
-- ("at least 2 calls an hour"). Health warns when such a source polls fine but brings fewer
-- (a feed answering 200 with empty pages, a filter grown too strict). No floor, no alarm.
alter table peakwatch.sources
  add column expected_min_calls integer check (expected_min_calls is null or expected_min_calls > 0),
  add column expected_window_minutes integer not null default 60 check (expected_window_minutes between 5 and 1440);

comment on column peakwatch.sources.expected_min_calls is
  'Fewest new calls expected per expected_window_minutes; null: no expectation (sources:newCallRate is not graded).';
