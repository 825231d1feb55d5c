import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe("tokens", () => {
  it("a token inserted by plain SQL is queued with top priority", async () => {
    const [token] = await db.sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address) values ('solana', 'So1aNaMint111') returning id`;
    const [queued] = await db.sql<{ priority: number; overdue: boolean }[]>`
      select priority, due_at <= now() as overdue from peakwatch.queue where token_id = ${token!.id}`;
    expect(queued).toEqual({ priority: 0, overdue: true });
  });

  it("a batch insert queues every new token exactly once", async () => {
    const ids = await db.sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address)
      select 'base', '0x' || lpad(to_hex(g), 40, '0') from generate_series(1, 500) g returning id`;
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.queue where token_id = any(${ids.map((r) => r.id)}::bigint[])`;
    expect(count!.n).toBe(500);
  });

  it("the same (chain, address) cannot be inserted twice, whatever the EVM address case", async () => {
    const address = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
    await db.sql`insert into peakwatch.tokens (chain, address) values ('ethereum', ${address})`;
    await expect(db.sql`insert into peakwatch.tokens (chain, address) values ('ethereum', ${address.toLowerCase()})`)
      .rejects.toThrow(/tokens_chain_address_key/);
    const [row] = await db.sql<{ address: string }[]>`
      select address from peakwatch.tokens where chain = 'ethereum' and address = ${address.toLowerCase()}`;
    expect(row!.address).toBe(address.toLowerCase());
  });

  it("Solana addresses keep their case, so different-case mints are different tokens", async () => {
    await db.sql`insert into peakwatch.tokens (chain, address) values ('solana', 'CaseMint'), ('solana', 'casemint')`;
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.tokens where chain = 'solana' and lower(address) = 'casemint'`;
    expect(count!.n).toBe(2);
  });

  it("an upsert of an existing token merges it and does not queue it again", async () => {
    const [token] = await db.sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address) values ('bsc', '0x' || repeat('b', 40)) returning id`;
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '1 hour' where token_id = ${token!.id}`;
    await db.sql`
      insert into peakwatch.tokens (chain, address, symbol) values ('bsc', '0x' || repeat('B', 40), 'BEE')
      on conflict (chain, address) do update set symbol = excluded.symbol`;
    const [queued] = await db.sql<{ priority: number; later: boolean; n: number }[]>`
      select priority, due_at > now() as later, (select count(*)::int from peakwatch.queue where token_id = ${token!.id}) as n
      from peakwatch.queue where token_id = ${token!.id}`;
    expect(queued).toEqual({ priority: 1, later: true, n: 1 });
  });
});

describe("calls", () => {
  it("the same (source, external_id) is merged, never doubled", async () => {
    const [token] = await db.sql<{ id: number }[]>`
      insert into peakwatch.tokens (chain, address) values ('solana', 'CallMint1') returning id`;
    const [source] = await db.sql<{ id: number }[]>`
      insert into peakwatch.sources (name, kind) values ('group-a', 'http_feed') returning id`;
    const upsert = () => db.sql`
      insert into peakwatch.calls (source_id, external_id, token_id, ticker, called_at)
      values (${source!.id}, 'msg-1', ${token!.id}, 'CALL', now())
      on conflict (source_id, external_id) do update set ticker = excluded.ticker`;
    await Promise.all([upsert(), upsert(), upsert()]);
    await expect(db.sql`
      insert into peakwatch.calls (source_id, external_id, token_id, called_at)
      values (${source!.id}, 'msg-1', ${token!.id}, now())`).rejects.toThrow(/calls_source_external_key/);
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from peakwatch.calls where source_id = ${source!.id}`;
    expect(count!.n).toBe(1);
  });
});

describe("API exposure", () => {
  it.each(["anon", "authenticated"])("%s has no access to the peakwatch schema or its functions", async (role) => {
    const [privileges] = await db.sql<{ schema: boolean; table: boolean; fn: boolean }[]>`
      select has_schema_privilege(${role}, 'peakwatch', 'usage') as schema,
             has_table_privilege(${role}, 'peakwatch.tokens', 'select') as table,
             has_function_privilege(${role}, 'peakwatch.claim(text, integer, interval, text[], boolean)', 'execute') as fn`;
    expect(privileges).toEqual({ schema: false, table: false, fn: false });
    await expect(
      db.sql.begin(async (tx) => {
        await tx.unsafe(`set local role ${role}`);
        await tx`select * from peakwatch.tokens`;
      }),
    ).rejects.toThrow(/permission denied/);
  });
});
