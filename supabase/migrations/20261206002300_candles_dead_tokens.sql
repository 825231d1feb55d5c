-- Issue 16: a dead token's pool instrument stops spending the GeckoTerminal budget. When a token
-- turns dead its current pool's instrument is disabled (its history stays readable); when it comes
-- back, the instrument is enabled again. Instruments made by hand (token_id null) are never touched.

create or replace function peakwatch.tokens_candle_instrument_status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update peakwatch.instruments i
  set enabled = new.status <> 'dead'
  where i.token_id = new.id and i.provider = 'geckoterminal' and i.symbol = new.pair_address
    and i.enabled is distinct from (new.status <> 'dead');
  return null;
end
$$;

-- The WHEN clause keeps the tracker's every-check updates free: only a move into or out of dead fires.
drop trigger if exists tokens_candle_instrument_status on peakwatch.tokens;
create trigger tokens_candle_instrument_status after update of status on peakwatch.tokens
  for each row when (old.status is distinct from new.status and (old.status = 'dead' or new.status = 'dead'))
  execute function peakwatch.tokens_candle_instrument_status();

revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
