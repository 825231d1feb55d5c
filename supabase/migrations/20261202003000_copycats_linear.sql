-- Issue 14: copycat detection in linear time, off the source row lock.
--
-- ingest_calls used to flag copycats with a self-join of every call of a ticker in the hour against
-- every other (quadratic in a flood of one ticker), while holding its source row locked for the
-- whole transaction, so one flooded ticker stalled its source and every poller queued behind it.
-- Now flag_copycats walks each ticker's calls once in time order with a sliding one-hour window,
-- and ingest_calls takes the source row lock only for the cursor update at its very end.
-- The edit to ingest_calls is deliberately small: the copycat block became one call, the lock moved.
-- It is applied to the market-truth version (20261202002000: poison items, honest entries).

-- Flags the tokens of every crowded window (an hour from some call of the ticker, holding a new
-- call of this batch, with 3 or more distinct tokens), as before. Per ticker: one index range scan
-- of its calls around the batch, then one pass with two pointers (each call enters and leaves the
-- window once) and one pass to mark the members. Returns the number of tokens newly flagged.
create or replace function peakwatch.flag_copycats(p_source_id bigint, p_new_ids text[])
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_ticker text;
  v_lo timestamptz;
  v_hi timestamptz;
  v_times timestamptz[];
  v_tokens bigint[];
  v_slots integer[];
  v_fresh boolean[];
  v_counts integer[];
  v_n integer;
  v_i integer;
  v_j integer;
  v_r integer;
  v_w integer;
  v_distinct integer;
  v_fresh_in integer;
  v_w_lo integer[];
  v_w_hi integer[];
  v_w_start timestamptz[];
  v_flag_tokens bigint[];
  v_flag_starts timestamptz[];
  v_count integer;
  v_flagged integer := 0;
begin
  if p_new_ids is null or cardinality(p_new_ids) = 0 then
    return 0;
  end if;
  -- Per-ticker locks, taken in order, make concurrent ingests of one ticker see each other's calls.
  perform pg_advisory_xact_lock(hashtextextended('peakwatch.copycat:' || t.ticker, 0))
  from (
    select distinct upper(k.ticker) as ticker from peakwatch.calls k
    where k.source_id = p_source_id and k.external_id = any (p_new_ids) and k.ticker is not null
    order by 1
  ) t;

  for v_ticker, v_lo, v_hi in
    select upper(k.ticker), min(k.called_at) - interval '1 hour', max(k.called_at) + interval '1 hour'
    from peakwatch.calls k
    where k.source_id = p_source_id and k.external_id = any (p_new_ids) and k.ticker is not null
    group by 1
    order by 1
  loop
    select array_agg(c.called_at order by c.called_at, c.id), array_agg(c.token_id order by c.called_at, c.id),
      array_agg(c.slot order by c.called_at, c.id), array_agg(c.fresh order by c.called_at, c.id), max(c.slot)
    into v_times, v_tokens, v_slots, v_fresh, v_n
    from (
      select k.id, k.called_at, k.token_id, dense_rank() over (order by k.token_id)::integer as slot,
        (f.external_id is not null) as fresh
      from peakwatch.calls k
      left join (select distinct unnest(p_new_ids) as external_id) f
        on k.source_id = p_source_id and f.external_id = k.external_id
      where upper(k.ticker) = v_ticker and k.ticker is not null and k.called_at between v_lo and v_hi
    ) c;
    if v_n is null or v_n < 3 then
      continue;
    end if;
    v_counts := array_fill(0, array[v_n]);
    v_n := cardinality(v_times);
    v_w_lo := '{}'; v_w_hi := '{}'; v_w_start := '{}';
    v_distinct := 0; v_fresh_in := 0; v_r := 1; v_i := 1;
    -- Windows start at each distinct call time and hold every call up to an hour later.
    while v_i <= v_n loop
      while v_r <= v_n and v_times[v_r] <= v_times[v_i] + interval '1 hour' loop
        if v_counts[v_slots[v_r]] = 0 then v_distinct := v_distinct + 1; end if;
        v_counts[v_slots[v_r]] := v_counts[v_slots[v_r]] + 1;
        if v_fresh[v_r] then v_fresh_in := v_fresh_in + 1; end if;
        v_r := v_r + 1;
      end loop;
      if v_distinct >= 3 and v_fresh_in > 0 then
        v_w_lo := array_append(v_w_lo, v_i);
        v_w_hi := array_append(v_w_hi, v_r - 1);
        v_w_start := array_append(v_w_start, v_times[v_i]);
      end if;
      v_j := v_i;
      loop
        v_counts[v_slots[v_j]] := v_counts[v_slots[v_j]] - 1;
        if v_counts[v_slots[v_j]] = 0 then v_distinct := v_distinct - 1; end if;
        if v_fresh[v_j] then v_fresh_in := v_fresh_in - 1; end if;
        v_j := v_j + 1;
        exit when v_j > v_n or v_times[v_j] <> v_times[v_i];
      end loop;
      v_i := v_j;
    end loop;
    if cardinality(v_w_lo) = 0 then
      continue;
    end if;
    -- Window bounds only grow, so the first window not yet ended before a call is the earliest
    -- one that can hold it.
    v_flag_tokens := '{}'; v_flag_starts := '{}'; v_w := 1;
    for v_i in 1 .. v_n loop
      while v_w <= cardinality(v_w_lo) and v_w_hi[v_w] < v_i loop
        v_w := v_w + 1;
      end loop;
      exit when v_w > cardinality(v_w_lo);
      if v_w_lo[v_w] <= v_i then
        v_flag_tokens := array_append(v_flag_tokens, v_tokens[v_i]);
        v_flag_starts := array_append(v_flag_starts, v_w_start[v_w]);
      end if;
    end loop;
    insert into peakwatch.copycat_tokens (ticker, token_id, window_start)
    select v_ticker, t.token_id, min(t.start_at)
    from unnest(v_flag_tokens, v_flag_starts) as t(token_id, start_at)
    group by t.token_id
    order by t.token_id
    on conflict on constraint copycat_tokens_pkey do nothing;
    get diagnostics v_count = row_count;
    v_flagged := v_flagged + v_count;
  end loop;
  return v_flagged;
end
$$;

create or replace function peakwatch.ingest_calls(
  p_source_id bigint,
  p_calls jsonb,
  p_cursor text default null,
  p_expected_cursor text default null,
  p_unreadable integer default 0
)
returns table (
  new_calls integer,
  duplicates integer,
  rejected integer,
  new_tokens integer,
  copycats integer,
  cursor_conflict boolean,
  outcomes text[],
  reasons text[]
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_new_tokens bigint[];
  v_new_ids text[];
  v_called_tokens bigint[];
  v_outcomes text[];
  v_reasons text[];
  v_new integer;
  v_duplicates integer;
  v_rejected integer;
  v_copycats integer;
  v_conflict boolean := false;
  v_calls jsonb;
  v_poison text[];
begin
  if p_calls is null or jsonb_typeof(p_calls) <> 'array' then
    raise exception using errcode = '22023', message = 'ingest_calls: calls must be a JSON array';
  end if;
  if jsonb_array_length(p_calls) > 10000 then
    raise exception using errcode = '22023',
      message = format('ingest_calls: at most 10000 calls per call (got %s)', jsonb_array_length(p_calls));
  end if;
  if p_unreadable is null or p_unreadable < 0 then
    raise exception using errcode = '22023', message = 'ingest_calls: unreadable must not be negative';
  end if;

  -- Poison first: an item that would fail the whole statement (a date Postgres cannot hold, an entry
  -- price that overflows ROI) is swapped for an empty object, rejected below with its own reason;
  -- the rest of the page goes in and the cursor moves. A market cap of 0 or below is unknown (dropped).
  select
    coalesce(jsonb_agg(case when p.reason is null then p.item else '{}'::jsonb end order by p.ord), '[]'::jsonb),
    coalesce(array_agg(coalesce(p.reason, '') order by p.ord), '{}')
  into v_calls, v_poison
  from (
    select e.ord, peakwatch.call_sanitized(e.item) as item, peakwatch.call_poison(e.item) as reason
    from jsonb_array_elements(p_calls) with ordinality as e(item, ord)
  ) p;

  -- The source row is locked only where the cursor moves, at the end (issue 14): rows and copycat
  -- checks of one source's batches no longer queue behind each other's whole transaction.
  perform 1 from peakwatch.sources s where s.id = p_source_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('ingest_calls: source %s does not exist', p_source_id);
  end if;

  -- Sorted, so two batches sharing tokens take their row locks in the same order (no deadlock).
  -- An insert that meets a concurrent uncommitted one waits for it, then does nothing.
  with inserted as (
    insert into peakwatch.tokens (chain, address)
    select distinct r.chain, r.address from peakwatch.call_rows(v_calls) r
    where r.problem is null
    order by r.chain, r.address
    on conflict (chain, address) do nothing
    returning id
  )
  select coalesce(array_agg(inserted.id), '{}') into v_new_tokens from inserted;

  -- A token that is already priced gives a new call its values at once: entry from the current price
  -- when the caller sent none and that price was observed at or before the call, within the entry
  -- tolerance (never after: a later price is not the entry; the tracker's next price fills it, marked
  -- approximate). ATH from an observation made after the call.
  with firsts as (
    select distinct on (r.external_id) r.*
    from peakwatch.call_rows(v_calls) r
    where r.problem is null
    order by r.external_id, r.i
  ), inserted as (
    insert into peakwatch.calls as k (
      source_id, external_id, token_id, ticker, group_name, called_at,
      entry_price_usd, entry_market_cap_usd, entry_observed_at, entry_approximate,
      ath_price_usd, ath_market_cap_usd, ath_at
    )
    select
      p_source_id, f.external_id, t.id, f.ticker, f.group_name, f.called_at,
      coalesce(f.entry_price_usd, case when o.on_time then t.price_usd end),
      coalesce(f.entry_market_cap_usd, case when o.on_time then nullif(t.market_cap_usd, 0) end),
      case when f.entry_price_usd is not null then f.called_at when o.on_time then t.last_priced_at end,
      case when f.entry_price_usd is not null or o.on_time then false end,
      case when t.last_priced_at >= f.called_at then t.price_usd end,
      case when t.last_priced_at >= f.called_at then nullif(t.market_cap_usd, 0) end,
      case when t.last_priced_at >= f.called_at and t.price_usd is not null then t.last_priced_at end
    from firsts f
    join peakwatch.tokens t on t.chain = f.chain and t.address = f.address
    cross join lateral (
      select coalesce(t.price_usd is not null
        and t.last_priced_at <= f.called_at
        and t.last_priced_at >= f.called_at - peakwatch.entry_tolerance(), false) as on_time
    ) o
    order by f.external_id
    on conflict (source_id, external_id) do nothing
    returning k.external_id, k.token_id
  )
  select coalesce(array_agg(inserted.external_id), '{}'), coalesce(array_agg(inserted.token_id), '{}')
  into v_new_ids, v_called_tokens
  from inserted;

  select
    coalesce(array_agg(case
      when o.problem is not null then 'rejected'
      when o.i = o.first_i and o.external_id = any (v_new_ids) then 'new'
      else 'duplicate' end order by o.i), '{}'),
    -- '' rather than NULL for accepted rows: postgres.js reads a NULL array element as the string 'NULL'
    coalesce(array_agg(coalesce(nullif(v_poison[o.i + 1], ''), o.problem, '') order by o.i), '{}')
  into v_outcomes, v_reasons
  from (
    select r.i, r.external_id, r.problem,
      min(r.i) filter (where r.problem is null) over (partition by r.external_id) as first_i
    from peakwatch.call_rows(v_calls) r
  ) o;
  v_new := cardinality(v_new_ids);
  v_rejected := cardinality(array_positions(v_outcomes, 'rejected'));
  v_duplicates := cardinality(v_outcomes) - v_new - v_rejected;

  -- A fresh call of a token we already track asks for fresh values: pull it forward (new tokens
  -- are already queued at top priority by the tokens trigger).
  perform peakwatch.enqueue(
    array(select unnest(v_called_tokens) except select unnest(v_new_tokens)),
    1::smallint,
    now()
  );

  v_copycats := peakwatch.flag_copycats(p_source_id, v_new_ids);

  if p_cursor is not null then
    update peakwatch.sources s set cursor = p_cursor
    where s.id = p_source_id and s.cursor is not distinct from p_expected_cursor;
    v_conflict := not found;
  end if;

  insert into peakwatch.source_counters as c (
    source_id, minute, fetched, new_calls, duplicates, rejected, new_tokens, copycats
  ) values (
    p_source_id, date_trunc('minute', now()), jsonb_array_length(p_calls) + p_unreadable,
    v_new, v_duplicates, v_rejected + p_unreadable, cardinality(v_new_tokens), v_copycats
  )
  on conflict on constraint source_counters_pkey do update
  set fetched = c.fetched + excluded.fetched,
      new_calls = c.new_calls + excluded.new_calls,
      duplicates = c.duplicates + excluded.duplicates,
      rejected = c.rejected + excluded.rejected,
      new_tokens = c.new_tokens + excluded.new_tokens,
      copycats = c.copycats + excluded.copycats;

  return query select v_new, v_duplicates, v_rejected, cardinality(v_new_tokens), v_copycats, v_conflict, v_outcomes, v_reasons;
end
$$;

revoke execute on all functions in schema peakwatch from public;
