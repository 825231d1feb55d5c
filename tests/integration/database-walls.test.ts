import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const API_ROLES = ["anon", "authenticated", "service_role"] as const;

/** Runs `work` as `role` inside a transaction that is always rolled back. */
async function asRole<T>(role: string, work: (tx: TestDatabase["sql"]) => Promise<T>, setup?: (tx: TestDatabase["sql"]) => Promise<unknown>): Promise<T> {
  let result: T | undefined;
  await db.sql.begin(async (tx) => {
    await setup?.(tx as unknown as TestDatabase["sql"]);
    await tx.unsafe(`set local role ${role}`);
    result = await work(tx as unknown as TestDatabase["sql"]);
    throw new Error("rollback");
  }).catch((error: unknown) => {
    if (!(error instanceof Error && error.message === "rollback")) throw error;
  });
  return result as T;
}

describe("the peakwatch schema's walls", () => {
  it("row level security is enabled on every table, with no policy", async () => {
    const tables = await db.sql<{ name: string; rls: boolean }[]>`
      select c.relname as name, c.relrowsecurity as rls from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'peakwatch' and c.relkind in ('r', 'p') order by 1`;
    expect(tables.length).toBeGreaterThan(10);
    expect(tables.filter((table) => !table.rls).map((table) => table.name)).toEqual([]);
    expect(await db.sql`select policyname from pg_policies where schemaname = 'peakwatch'`).toEqual([]);
  });

  it.each(["anon", "authenticated"])("%s is refused: it cannot even name the schema", async (role) => {
    for (const statement of ["select * from peakwatch.tokens", "select * from peakwatch.credential_refresh_tokens", "insert into peakwatch.sources (name, kind) values ('x', 'manual')"]) {
      const error = await asRole(role, (tx) => tx.unsafe(statement).then(() => null, (e: unknown) => e));
      expect(error, `${role}: ${statement}`).toMatchObject({ code: "42501", message: "permission denied for schema peakwatch" });
    }
  });

  it("behind a grant given by mistake, RLS still shows authenticated nothing and its writes are refused", async () => {
    const mistake = (tx: TestDatabase["sql"]) => tx.unsafe("grant usage on schema peakwatch to authenticated; grant select, insert on peakwatch.tokens to authenticated");
    await db.sql`insert into peakwatch.tokens (chain, address) values ('solana', 'So1anaWallTest111111111111111111111')`;
    const seen = await asRole("authenticated", (tx) => tx`select count(*)::int as n from peakwatch.tokens`, mistake);
    expect(seen).toEqual([{ n: 0 }]);
    const write = await asRole("authenticated", (tx) => tx`insert into peakwatch.tokens (chain, address) values ('solana', 'So1anaWallTest222222222222222222222')`.then(() => null, (e: unknown) => e), mistake);
    // Refused either by the policy-less RLS or, first, by the queue trigger it may not execute.
    expect(write).toMatchObject({ code: "42501" });
  });

  it("no API role (service_role included: it bypasses RLS on Supabase) has any grant in the schema", async () => {
    for (const role of [...API_ROLES, "public"]) {
      const [privileges] = await db.sql<{ usage: boolean; tables: string[]; sequences: string[]; functions: string[] }[]>`
        select
          has_schema_privilege(${role === "public" ? "anon" : role}, 'peakwatch', 'USAGE') as usage,
          coalesce(array_agg(distinct t.relname) filter (where t.granted), '{}') as tables,
          '{}'::text[] as sequences,
          '{}'::text[] as functions
        from (
          select c.relname, exists (
            select 1 from aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            where a.grantee = case when ${role} = 'public' then 0 else (select oid from pg_roles where rolname = ${role}) end
          ) as granted
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'peakwatch' and c.relkind in ('r', 'p', 'v', 'm', 'S')
        ) t`;
      const functions = await db.sql<{ name: string }[]>`
        select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'peakwatch' and exists (
          select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
          where a.grantee = case when ${role} = 'public' then 0 else (select oid from pg_roles where rolname = ${role}) end
        )`;
      expect({ role, usage: privileges!.usage, tables: privileges!.tables, functions: functions.map((f) => f.name) }).toEqual({ role, usage: false, tables: [], functions: [] });
    }
  });

  it("service_role, whose wall is grants, is refused like the others", async () => {
    const error = await asRole("service_role", (tx) => tx`select * from peakwatch.credential_refresh_tokens`.then(() => null, (e: unknown) => e));
    expect(error).toMatchObject({ code: "42501" });
  });

  it("config.toml does not expose the schema through the API", () => {
    const config = readFileSync(new URL("../../supabase/config.toml", import.meta.url), "utf8");
    const api = config.split(/^\[/m).find((section) => section.startsWith("api]"));
    const schemas = api?.match(/^schemas\s*=\s*\[([^\]]*)\]/m)?.[1];
    expect(schemas, "[api] schemas").toBeDefined();
    expect(schemas!.split(",").map((s) => s.trim().replace(/"/g, ""))).not.toContain("peakwatch");
    expect(api).not.toMatch(/extra_search_path\s*=\s*\[[^\]]*peakwatch/);
  });
});
