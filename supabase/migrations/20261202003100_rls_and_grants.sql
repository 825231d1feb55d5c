-- Issue 14: a second wall around the peakwatch schema.
--
-- The first wall stays the same: the schema is not in config.toml [api].schemas, and no API role
-- (anon, authenticated, service_role) has USAGE on it or a grant on anything in it. Without USAGE
-- nothing inside can even be named, whatever a later grant on an object says.
--
-- Second wall: row level security on every table, with no policies, so a role that somehow got a
-- grant still reads and writes nothing. The functions connect as the owner, which RLS does not
-- bind. service_role has BYPASSRLS on Supabase: for it, "no grants" is the wall (tested).
--
-- The old `alter default privileges in schema peakwatch revoke ... from public` did nothing:
-- per-schema defaults can only add to the global ones, and the global default gives EXECUTE on new
-- functions to PUBLIC. So every migration ends with its own revokes, and a test checks that no
-- table, sequence or function of the schema is granted to PUBLIC or an API role.

do $$
declare
  v_table regclass;
begin
  for v_table in
    select c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'peakwatch' and c.relkind in ('r', 'p')
  loop
    execute format('alter table %s enable row level security', v_table);
  end loop;
end
$$;

revoke all on schema peakwatch from public, anon, authenticated, service_role;
revoke all on all tables in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all sequences in schema peakwatch from public, anon, authenticated, service_role;
revoke all on all functions in schema peakwatch from public, anon, authenticated, service_role;
