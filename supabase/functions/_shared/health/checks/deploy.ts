import { z } from "zod";
import { releaseId } from "../../runtime.ts";
import { EXPECTED_MIGRATION } from "../build-info.ts";
import { type AreaResult, type CheckContext, reading } from "../reading.ts";
import { presentRelations } from "./present.ts";

const releaseRow = z.object({ function_name: z.string(), release: z.string().nullable() });

/**
 * Deploy drift: the database's latest applied migration against the one this code was built with
 * (a fix that never reached the database fails here), and the release each function last ran
 * (informational: which version is live). One primary-key probe and one index probe per function.
 */
export async function deployChecks(ctx: CheckContext): Promise<AreaResult> {
  const present = await presentRelations(ctx.sql, ["supabase_migrations.schema_migrations"]);
  const releases = z.array(releaseRow).parse(await ctx.sql`
    select f.name as function_name, r.release
    from unnest(${ctx.config.functions}::text[]) as f(name)
    left join lateral (
      select r.release from peakwatch.runs r where r.function_name = f.name order by r.started_at desc limit 1
    ) r on true`);
  const checks = releases.map((row) =>
    reading(ctx, "deploy:release", row.release ?? "unknown", `${row.function_name} last ran release ${row.release ?? "unknown"}; health runs ${releaseId()}`, {
      componentId: row.function_name,
      status: "pass",
    })
  );
  if (!present.has("supabase_migrations.schema_migrations")) {
    return { checks, notes: ["deploy:migrationVersion skipped: no supabase_migrations.schema_migrations (migrations were not applied with the Supabase CLI)"] };
  }
  const [row] = await ctx.sql<{ version: string | null }[]>`select max(version) as version from supabase_migrations.schema_migrations`;
  const applied = row?.version ?? null;
  const behind = applied === null || applied < EXPECTED_MIGRATION;
  checks.push(
    reading(
      ctx,
      "deploy:migrationVersion",
      applied,
      behind
        ? `the database's latest migration (${applied ?? "none"}) is older than ${EXPECTED_MIGRATION}, which this code expects: run supabase db push`
        : `database at ${applied}; the code expects ${EXPECTED_MIGRATION}`,
      { status: behind ? "fail" : "pass" },
    ),
  );
  return { checks };
}
