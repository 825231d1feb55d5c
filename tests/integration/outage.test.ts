import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readBacklog } from "../../supabase/functions/_shared/queue/backlog.ts";
import { requeueDeadLetters } from "../../supabase/functions/_shared/queue/enqueue.ts";
import type { ProviderResult } from "../../supabase/functions/_shared/providers/types.ts";
import { runTracker } from "../../supabase/functions/_shared/tracker/run-tracker.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { fakeLane, priced } from "../helpers/fake-lanes.ts";
import { insertSimTokens, trackerFixture, type TrackerFixture } from "../helpers/tracker.ts";

let db: TestDatabase;
let fx: TrackerFixture;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.sql`truncate peakwatch.tokens cascade`;
  fx = await trackerFixture();
});
afterEach(async () => {
  await fx.close();
});

const BREAKER_OPEN_MS = 300;
const MAX_ATTEMPTS = 3;

const run = (overrides: Partial<Parameters<typeof runTracker>[0]> = {}) =>
  runTracker({
    sql: db.sql,
    worker: "outage-tracker",
    ...fx.lanes({ breakerOpenMs: BREAKER_OPEN_MS }),
    timeBudgetMs: 20_000,
    signal: new AbortController().signal,
    settings: { idlePollMs: 100, reserveMs: 1_000, failPolicy: { maxAttempts: MAX_ATTEMPTS, baseSeconds: 15, capSeconds: 300, providerDelaySeconds: 15 } },
    ...overrides,
  });

async function simFault(provider: string, kind: string) {
  const response = await fetch(`${fx.sim.url}/__sim/faults`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ provider, kind }) });
  expect(response.status).toBe(200);
}

/** Lets simulated time pass for the queue: every row is due again. */
const everythingDue = () => db.sql`update peakwatch.queue set due_at = now()`;

interface QueueState {
  rows: number;
  dead_letters: number;
  attempts: number;
  provider_kind: number;
  due_within_20s: number;
}

const queueState = async (): Promise<QueueState> => {
  const [row] = await db.sql<QueueState[]>`
    select count(*)::int as rows, count(dead_lettered_at)::int as dead_letters, coalesce(sum(attempts), 0)::int as attempts,
           count(*) filter (where last_failure_kind = 'provider')::int as provider_kind,
           count(*) filter (where due_at <= now() + interval '20 seconds')::int as due_within_20s
    from peakwatch.queue`;
  return row!;
};

const tradingTokens = () => fx.sim.tokens().filter((t) => t.kind === "steady" || t.kind === "pump");

describe("an outage is the provider's fault", () => {
  it("both providers refusing connections: no attempt counted, no dead letter, rows back within the short delay; recovery prices every overdue row", async () => {
    const tokens = tradingTokens();
    await insertSimTokens(db.sql, tokens);
    expect(await run({ maxTokens: tokens.length })).toMatchObject({ priced: tokens.length, failed: 0 });

    await simFault("dexscreener", "disconnect");
    await simFault("geckoterminal", "disconnect");
    // More rounds than max attempts: before, every token was dead-lettered by now.
    for (let round = 0; round < MAX_ATTEMPTS + 2; round++) {
      await everythingDue();
      const stats = await run({ maxTokens: tokens.length });
      expect(stats).toMatchObject({ claimed: tokens.length, priced: 0, failed: tokens.length, providerFailures: tokens.length, deadLettered: 0 });
    }
    expect(await queueState()).toEqual({ rows: tokens.length, dead_letters: 0, attempts: 0, provider_kind: tokens.length, due_within_20s: tokens.length });
    const errors = await db.sql<{ last_error: string }[]>`select distinct last_error from peakwatch.queue`;
    for (const { last_error } of errors) expect(last_error).toMatch(/network error|circuit open/);
    expect((await readBacklog(db.sql)).dead_lettered_count).toBe(0);

    await simFault("dexscreener", "none");
    await simFault("geckoterminal", "none");
    await new Promise((resolve) => setTimeout(resolve, BREAKER_OPEN_MS + 50));
    await everythingDue();
    expect(await run({ maxTokens: tokens.length })).toMatchObject({ claimed: tokens.length, priced: tokens.length, failed: 0 });
    const [after] = await db.sql<{ unpriced: number; errors: number; kinds: number }[]>`
      select count(*) filter (where t.last_priced_at < now() - interval '1 minute')::int as unpriced,
             count(q.last_error)::int as errors, count(q.last_failure_kind)::int as kinds
      from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id`;
    expect(after).toEqual({ unpriced: 0, errors: 0, kinds: 0 });
  });

  it("only the primary down: the fallback prices what it can and nothing counts an attempt", async () => {
    const tokens = tradingTokens().filter((t) => t.chain === "solana").slice(0, 6);
    await insertSimTokens(db.sql, tokens);
    await simFault("dexscreener", "disconnect");
    for (let round = 0; round < MAX_ATTEMPTS + 1; round++) {
      await everythingDue();
      const stats = await run({ maxTokens: tokens.length });
      expect(stats.priced).toBe(tokens.length);
      expect(stats.geckoterminalCalls).toBeGreaterThan(0);
    }
    expect(await queueState()).toMatchObject({ dead_letters: 0, attempts: 0 });
  });

  it("a poison token dead-letters after N attempts while its batch neighbours are priced every time", async () => {
    const ids = await insertTokens(db.sql, 5, "solana", "poison-test");
    const poison = "poison-test-3";
    // Its only item fails the schema every time: it is missing from the results and one parse failure is counted.
    const answer = (_chain: string, asked: string[]): ProviderResult => ({
      results: asked.map((a) => (a === poison ? { address: a, outcome: "missing" as const, reason: "not_in_response" as const } : priced(a))),
      parseFailures: asked.includes(poison) ? 1 : 0,
      itemCount: asked.length,
      status: 200,
    });
    const primary = fakeLane("dexscreener", answer);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await everythingDue();
      const stats = await run({ primary, fallback: undefined, maxTokens: 5 });
      expect(stats, `attempt ${attempt}`).toMatchObject({ claimed: 5, priced: 4, failed: 1, providerFailures: 0, deadLettered: attempt === MAX_ATTEMPTS ? 1 : 0 });
    }
    const rows = await db.sql<{ address: string; attempts: number; dead: boolean; kind: string | null; priced: boolean }[]>`
      select t.address, q.attempts, q.dead_lettered_at is not null as dead, q.last_failure_kind as kind, t.last_priced_at is not null as priced
      from peakwatch.queue q join peakwatch.tokens t on t.id = q.token_id order by t.id`;
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) {
      if (row.address === poison) expect(row).toMatchObject({ attempts: MAX_ATTEMPTS, dead: true, kind: "poison", priced: false });
      else expect(row).toMatchObject({ attempts: 0, dead: false, kind: null, priced: true });
    }
    expect((await readBacklog(db.sql)).dead_lettered_count).toBe(1);
  });
});

describe("dead letters an outage left behind", () => {
  const NETWORK = "UpstreamError: network error: fetch failed; geckoterminal: circuit open";

  it("return at once, while poison ones wait for the cool-down; only poison is counted as dead-lettered", async () => {
    const [legacy, provider, poison] = await insertTokens(db.sql, 3);
    await db.sql`update peakwatch.queue set dead_lettered_at = now(), attempts = 8, last_error = ${NETWORK} where token_id = ${legacy!}`;
    await db.sql`update peakwatch.queue set dead_lettered_at = now(), attempts = 8, last_error = 'UpstreamError: timeout', last_failure_kind = 'provider' where token_id = ${provider!}`;
    await db.sql`update peakwatch.queue set dead_lettered_at = now(), attempts = 8, last_error = 'schema: 1 item(s) failed to parse', last_failure_kind = 'poison' where token_id = ${poison!}`;
    // the legacy row was written without a kind: it is counted until it is attributed
    expect((await readBacklog(db.sql)).dead_lettered_count).toBe(2);

    expect(await requeueDeadLetters(db.sql, 3_600)).toBe(2);
    const rows = await db.sql<{ token_id: number; dead: boolean; attempts: number }[]>`
      select token_id, dead_lettered_at is not null as dead, attempts from peakwatch.queue order by token_id`;
    expect(rows).toEqual([
      { token_id: legacy, dead: false, attempts: 0 },
      { token_id: provider, dead: false, attempts: 0 },
      { token_id: poison, dead: true, attempts: 8 },
    ]);
    expect((await readBacklog(db.sql)).dead_lettered_count).toBe(1);
  });

  it("the migration's repair gives back rows already in a database: dead letters and rows backing off from an outage", async () => {
    const [deadLetter, backingOff, poison, leased] = await insertTokens(db.sql, 4);
    await db.sql`update peakwatch.queue set dead_lettered_at = now() - interval '5 minutes', attempts = 8, last_error = ${NETWORK} where token_id = ${deadLetter!}`;
    await db.sql`update peakwatch.queue set attempts = 7, due_at = now() + interval '32 minutes', last_error = 'UpstreamError: upstream answered 502' where token_id = ${backingOff!}`;
    await db.sql`update peakwatch.queue set attempts = 2, due_at = now() + interval '1 minute', last_error = 'UpstreamError: upstream answered 400' where token_id = ${poison!}`;
    await db.sql`update peakwatch.queue set attempts = 1, claimed_by = 'live', due_at = now() + interval '90 seconds', last_error = 'RateLimitedError: rate limited' where token_id = ${leased!}`;

    const [{ returned }] = await db.sql<[{ returned: number }]>`select peakwatch.return_provider_failures() as returned`;
    expect(returned).toBe(2);
    const rows = await db.sql<{ token_id: number; dead: boolean; attempts: number; due: boolean; kind: string }[]>`
      select token_id, dead_lettered_at is not null as dead, attempts, due_at <= now() as due, last_failure_kind as kind
      from peakwatch.queue order by token_id`;
    expect(rows).toEqual([
      { token_id: deadLetter, dead: false, attempts: 0, due: true, kind: "provider" },
      { token_id: backingOff, dead: false, attempts: 0, due: true, kind: "provider" },
      { token_id: poison, dead: false, attempts: 2, due: false, kind: "poison" },
      // a live lease is never broken: its holder writes the outcome
      { token_id: leased, dead: false, attempts: 1, due: false, kind: "provider" },
    ]);
  });

  it("provider_wide_error reads every part of a joined error text", async () => {
    const cases: Array<[string | null, boolean]> = [
      [NETWORK, true],
      ["UpstreamError: timeout", true],
      ["UpstreamError: upstream answered 503; RateLimitedError: rate limited, retry after 1000 ms", true],
      ["LaneUnavailableError: geckoterminal: no rate-limit slot before the deadline", true],
      ["UpstreamError: upstream answered 404", false],
      ["UpstreamError: network error: fetch failed; schema: 1 item(s) failed to parse", false],
      ["SchemaError: invalid JSON (10 bytes)", false],
      ["", false],
      [null, false],
    ];
    for (const [text, expected] of cases) {
      const [row] = await db.sql<[{ wide: boolean }]>`select peakwatch.provider_wide_error(${text}) as wide`;
      expect(row.wide, String(text)).toBe(expected);
    }
  });
});
