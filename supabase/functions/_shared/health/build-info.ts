// Written by `npm run maps` (dev/lib/build-info.ts); a test fails when it is stale.
/** The newest migration in supabase/migrations when the functions were built. */
export const EXPECTED_MIGRATION = "20261206005200";
