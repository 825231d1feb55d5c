-- token-refresh checks every minute instead of every 5: a refresh that fails inside a token's margin
-- is retried, and shows in health (credentials:secondsToExpiry), within a minute; a fixed auth server
-- is used again within a minute. A check is cheap: one Redis read per credential, and an upstream
-- request only for tokens inside their margin (or past a failure's back-off). With a 5-minute cadence
-- a token could sit inside its 600 s margin unrefreshed for up to 5 minutes, which health had to
-- call a warning even when nothing was wrong.

do $$
begin
  if to_regclass('cron.job') is null then
    return;
  end if;
  perform cron.schedule('peakwatch-token-refresh', '* * * * *',
    $job$select peakwatch.invoke_function('token-refresh', '{"trigger": "cron", "async": true}')$job$);
end
$$;
