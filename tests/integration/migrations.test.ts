import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderTypes, typesPath } from "../../dev/gen-types.ts";
import { lintDatabase, pushMigrations } from "../../dev/lib/supabase-cli.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** Everything a migration could change in the peakwatch schema, as one comparable value. */
async function schemaFingerprint(): Promise<string> {
  const [row] = await db.sql<{ fingerprint: string }[]>`
    select md5(string_agg(item, E'\n' order by item)) as fingerprint from (
      select format('col %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_get_expr(d.adbin, d.adrelid)) as item
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where c.relnamespace = 'peakwatch'::regnamespace and a.attnum > 0 and not a.attisdropped
      union all
      select 'idx ' || pg_get_indexdef(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indrelid
      where c.relnamespace = 'peakwatch'::regnamespace
      union all
      select 'fn ' || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '') from pg_proc p
      where p.pronamespace = 'peakwatch'::regnamespace
      union all
      select 'trg ' || pg_get_triggerdef(t.oid) from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where c.relnamespace = 'peakwatch'::regnamespace and not t.tgisinternal
      union all
      select 'row ' || s.name || ' ' || s.kind from peakwatch.sources s
    ) items`;
  return row!.fingerprint;
}

describe("migrations", () => {
  it("re-applying them with the Supabase CLI is a no-op", async () => {
    const versionsBefore = await db.sql`select version from supabase_migrations.schema_migrations order by version`;
    const fingerprintBefore = await schemaFingerprint();
    expect(versionsBefore.length).toBeGreaterThanOrEqual(4);
    const output = pushMigrations(db.url);
    expect(output).toMatch(/up to date/i);
    expect(await db.sql`select version from supabase_migrations.schema_migrations order by version`).toEqual(versionsBefore);
    expect(await schemaFingerprint()).toBe(fingerprintBefore);
  });

  it("the committed Database types are what supabase gen types produces from them", () => {
    const committed = readFileSync(typesPath, "utf8");
    expect(renderTypes(db.url), "database.types.ts is stale: run `npm run gen:types` and commit it").toBe(committed);
  });

  it("supabase db lint (plpgsql_check) finds no warnings in the peakwatch schema", () => {
    expect(() => lintDatabase(db.url)).not.toThrow();
  });
});
