-- pg_cron can live in one database per cluster (cron.database_name). On Supabase that is
-- `postgres`; locally the stack script points it at the app database. Other databases built from
-- these migrations (per-test databases) get the schema without the scheduler.
do $$
begin
  if current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron with schema pg_catalog;
  else
    raise notice 'pg_cron belongs to database %, not %: no jobs are scheduled there',
      current_setting('cron.database_name', true), current_database();
  end if;
end
$$;
