import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXPECTED_MIGRATION } from "../../supabase/functions/_shared/health/build-info.ts";
import { evaluateHealth } from "../../supabase/functions/_shared/health/evaluate.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";
import { createTestDatabase, insertTokens, type TestDatabase } from "../helpers/database.ts";
import { checkOf, insertRuns, RELAXED_RESPONSE_TIMES, resetPipeline, testHealthConfig } from "../helpers/health.ts";
import { freePort } from "../../dev/lib/ports.ts";
import { redisUrl } from "../helpers/tracker.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await resetPipeline(db.sql);
});

const evaluate = (env: Record<string, string> = {}) => evaluateHealth({ sql: db.sql, config: testHealthConfig(env) });

/** Marks tokens active and priced `secondsAgo`, created `ageSeconds` ago (which sets their cadence). */
async function priceTokens(ids: number[], secondsAgo: number, ageSeconds = 2 * 86_400) {
  await db.sql`
    update peakwatch.tokens set status = 'active', created_at = now() - make_interval(secs => ${ageSeconds}),
      first_priced_at = now() - make_interval(secs => ${secondsAgo}), last_priced_at = now() - make_interval(secs => ${secondsAgo}), price_usd = 1
    where id = any (${ids}::bigint[])`;
  await db.sql`update peakwatch.queue set priority = 1, due_at = now() + interval '5 minutes' where token_id = any (${ids}::bigint[])`;
}

async function insertCalls(tokenIds: number[], createdSecondsAgo: number, ticker: string | null = null) {
  await db.sql`
    insert into peakwatch.calls (source_id, external_id, token_id, ticker, called_at, created_at)
    select (select id from peakwatch.sources where name = 'manual'), 'call-' || t || '-' || ${createdSecondsAgo} || '-' || coalesce(${ticker}, ''), t, ${ticker},
           now() - make_interval(secs => ${createdSecondsAgo}), now() - make_interval(secs => ${createdSecondsAgo})
    from unnest(${tokenIds}::bigint[]) t`;
}

describe("runs: last success and error streak per function", () => {
  it("a tracker whose last ok run finished 30 s ago passes, 200 s ago warns, 700 s ago fails", async () => {
    for (const [secondsAgo, status] of [[30, "pass"], [200, "warn"], [700, "fail"]] as const) {
      await db.sql`truncate peakwatch.runs`;
      await insertRuns(db.sql, [{ outcome: "ok", secondsAgo }]);
      const check = checkOf(await evaluate(), "tracker:lastSuccessAge");
      expect(check.status, `${secondsAgo} s`).toBe(status);
      expect(check.observedValue).toBeCloseTo(secondsAgo, -1);
      expect(check.observedUnit).toBe("s");
    }
  });

  it("a partial run counts as alive; a function that never succeeded fails with no reading", async () => {
    await insertRuns(db.sql, [{ outcome: "partial", secondsAgo: 20 }, { fn: "poller", outcome: "error", secondsAgo: 5, error: "boom" }]);
    const report = await evaluate({ HEALTH_FUNCTIONS: "tracker,poller" });
    expect(checkOf(report, "tracker:lastSuccessAge").status).toBe("pass");
    expect(checkOf(report, "poller:lastSuccessAge")).toMatchObject({ status: "fail", observedValue: null });
  });

  it("one error in a row warns, five fail, and only the output carries the error text", async () => {
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 100 }, { outcome: "error", secondsAgo: 50, error: "provider said no" }]);
    const once = checkOf(await evaluate(), "tracker:consecutiveErrors");
    expect(once).toMatchObject({ status: "warn", observedValue: 1 });
    expect(once.output).toContain("provider said no");
    await insertRuns(db.sql, [40, 30, 20, 10].map((secondsAgo) => ({ outcome: "error" as const, secondsAgo, error: "still no" })));
    expect(checkOf(await evaluate(), "tracker:consecutiveErrors")).toMatchObject({ status: "fail", observedValue: 5 });
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 1 }]);
    expect(checkOf(await evaluate(), "tracker:consecutiveErrors")).toMatchObject({ status: "pass", observedValue: 0 });
  });

  it("fills the summary: the tracker's last run, unprocessed tokens and the median lag", async () => {
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 10 }]);
    await insertTokens(db.sql, 3);
    const report = await evaluate();
    expect(report.summary.lastRun).toMatchObject({ function: "tracker", outcome: "ok" });
    expect(report.summary.lastRun!.startedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(report.summary.unprocessedTokens).toBe(3);
    expect(report.summary.averageLag).toBeGreaterThanOrEqual(0);
  });
});

describe("queue", () => {
  const limits = JSON.stringify({
    ...JSON.parse(RELAXED_RESPONSE_TIMES),
    "queue:dueBacklog": { warn: 3, fail: 10 },
    "queue:unprocessed": { warn: 3, fail: 5 },
    "queue:deadLettered": { warn: 1, fail: 3 },
  });

  it("grades the due backlog and the never-checked count against their limits", async () => {
    await insertTokens(db.sql, 5);
    const report = await evaluate({ HEALTH_THRESHOLDS: limits });
    expect(checkOf(report, "queue:dueBacklog")).toMatchObject({ observedValue: 5, status: "warn" });
    expect(checkOf(report, "queue:unprocessed")).toMatchObject({ observedValue: 5, status: "fail" });
    await db.sql`update peakwatch.queue set priority = 1 where token_id in (select token_id from peakwatch.queue order by token_id limit 3)`;
    expect(checkOf(await evaluate({ HEALTH_THRESHOLDS: limits }), "queue:unprocessed")).toMatchObject({ observedValue: 2, status: "pass" });
  });

  it("a token queued 130 s ago and never checked warns, one queued 11 minutes ago fails", async () => {
    const [id] = await insertTokens(db.sql, 1);
    for (const [secondsAgo, status] of [[30, "pass"], [130, "warn"], [660, "fail"]] as const) {
      await db.sql`update peakwatch.queue set enqueued_at = now() - make_interval(secs => ${secondsAgo}) where token_id = ${id!}`;
      const check = checkOf(await evaluate(), "queue:unprocessedOldestAge");
      expect(check.status, `${secondsAgo} s`).toBe(status);
    }
  });

  it("overdue p50, p95 and max follow how long due rows have waited", async () => {
    const ids = await insertTokens(db.sql, 20);
    // 18 rows 10 s overdue, two 20 minutes overdue: the p95 row is the second most overdue of 20.
    await db.sql`update peakwatch.queue set priority = 1, due_at = now() - interval '10 seconds' where token_id = any (${ids}::bigint[])`;
    await db.sql`update peakwatch.queue set due_at = now() - interval '20 minutes' where token_id = any (${ids.slice(0, 2)}::bigint[])`;
    const report = await evaluate();
    expect(checkOf(report, "queue:overdueP50")).toMatchObject({ status: "pass" });
    expect(checkOf(report, "queue:overdueP95").status).toBe("fail");
    expect(checkOf(report, "queue:overdueMax").status).toBe("warn");
    expect(checkOf(report, "queue:overdueMax").observedValue).toBeCloseTo(1_200, -1);
  });

  it("counts dead letters", async () => {
    const ids = await insertTokens(db.sql, 3);
    await db.sql`update peakwatch.queue set dead_lettered_at = now(), attempts = 8 where token_id = any (${ids}::bigint[])`;
    expect(checkOf(await evaluate({ HEALTH_THRESHOLDS: limits }), "queue:deadLettered")).toMatchObject({ observedValue: 3, status: "fail" });
  });
});

describe("tokens: freshness", () => {
  it("all active tokens priced within their interval pass; stale ones lower the share to warn, then fail", async () => {
    const ids = await insertTokens(db.sql, 10);
    await priceTokens(ids, 30); // two days old: due every 5 minutes
    expect(checkOf(await evaluate(), "tokens:freshPercent")).toMatchObject({ observedValue: 100, status: "pass" });
    await priceTokens(ids.slice(0, 1), 20 * 60);
    expect(checkOf(await evaluate(), "tokens:freshPercent")).toMatchObject({ observedValue: 90, status: "warn" });
    await priceTokens(ids.slice(0, 3), 20 * 60);
    const check = checkOf(await evaluate(), "tokens:freshPercent");
    expect(check).toMatchObject({ observedValue: 70, status: "fail" });
    expect(check.output).toContain("3 of 10 active tokens");
    expect(check.output).toContain("stalest:");
  });

  it("a young token's shorter cadence counts: priced 3 minutes ago is stale at 10 minutes old, fresh at 3 days", async () => {
    const [young] = await insertTokens(db.sql, 1, "solana", "young");
    await priceTokens([young!], 180, 600); // cadence 30 s + 120 s grace
    expect(checkOf(await evaluate(), "tokens:freshPercent").observedValue).toBe(0);
    await priceTokens([young!], 180, 3 * 86_400); // cadence 5 min
    expect(checkOf(await evaluate(), "tokens:freshPercent").observedValue).toBe(100);
  });

  it("pending tokens are not counted; with no active token the share is 100 %", async () => {
    await insertTokens(db.sql, 2);
    expect(checkOf(await evaluate(), "tokens:freshPercent")).toMatchObject({ observedValue: 100, status: "pass" });
  });
});

describe("pipeline: stage conversion and schema drift", () => {
  it("calls whose tokens were priced since they came in pass; inputs with no outputs fail", async () => {
    const ids = await insertTokens(db.sql, 6);
    await insertCalls(ids, 30 * 60);
    const silent = checkOf(await evaluate(), "pipeline:callConversion");
    expect(silent).toMatchObject({ observedValue: 0, observedUnit: "percent", status: "fail" });
    expect(silent.output).toContain("0 of 6 calls");
    await priceTokens(ids.slice(0, 2), 10);
    expect(checkOf(await evaluate(), "pipeline:callConversion")).toMatchObject({ status: "warn" });
    await priceTokens(ids, 10);
    expect(checkOf(await evaluate(), "pipeline:callConversion")).toMatchObject({ observedValue: 100, status: "pass" });
  });

  it("a token priced only before the call does not count, calls still settling and fewer than the minimum are not graded", async () => {
    const ids = await insertTokens(db.sql, 6);
    await priceTokens(ids, 45 * 60);
    await insertCalls(ids, 30 * 60);
    expect(checkOf(await evaluate(), "pipeline:callConversion").status).toBe("fail");
    await db.sql`delete from peakwatch.calls`;
    await insertCalls(ids, 60); // inside the 3-minute settle period
    await insertCalls(ids.slice(0, 2), 20 * 60);
    const check = checkOf(await evaluate(), "pipeline:callConversion");
    expect(check.status).toBe("pass");
    expect(check.output).toContain("not graded");
  });

  it("provider items that failed their schema in the tracker's runs warn, many fail", async () => {
    await insertRuns(db.sql, [{ outcome: "partial", secondsAgo: 60, counts: { parseFailures: 2, providerCalls: 4, dexscreenerCalls: 4 } }]);
    expect(checkOf(await evaluate(), "providers:parseFailures", "tracker")).toMatchObject({ observedValue: 2, status: "warn" });
    await insertRuns(db.sql, [{ outcome: "partial", secondsAgo: 30, counts: { parseFailures: 60 } }]);
    expect(checkOf(await evaluate(), "providers:parseFailures", "tracker")).toMatchObject({ observedValue: 62, status: "fail" });
    await insertRuns(db.sql, [{ outcome: "partial", secondsAgo: 7_200, counts: { parseFailures: 500 } }]);
    expect(checkOf(await evaluate(), "providers:parseFailures", "tracker").observedValue).toBe(62);
  });
});

describe("sources", () => {
  async function addSource(name: string, successSecondsAgo: number | null) {
    await db.sql`
      insert into peakwatch.sources (name, kind, poll_interval_seconds, enabled, last_success_at, created_at)
      values (${name}, 'http_feed', 60, true,
              ${successSecondsAgo === null ? null : db.sql`now() - make_interval(secs => ${successSecondsAgo})`}, now() - interval '1 day')`;
  }

  it("grades the last successful poll in multiples of the source's interval", async () => {
    await addSource("feed-ok", 30);
    await addSource("feed-late", 4 * 60);
    await addSource("feed-stuck", 11 * 60);
    await addSource("feed-never", null);
    const report = await evaluate();
    expect(checkOf(report, "sources:lastSuccessAge", "feed-ok").status).toBe("pass");
    expect(checkOf(report, "sources:lastSuccessAge", "feed-late").status).toBe("warn");
    expect(checkOf(report, "sources:lastSuccessAge", "feed-stuck").status).toBe("fail");
    expect(checkOf(report, "sources:lastSuccessAge", "feed-never")).toMatchObject({ status: "fail", observedUnit: "s" });
  });

  it("rejected calls and failed polls of the last hour come from the poller's counters", async () => {
    await addSource("feed-drift", 600);
    await db.sql`
      insert into peakwatch.source_counters (source_id, minute, polls, errors, fetched, rejected)
      select id, date_trunc('minute', now()) - interval '5 minutes', 10, 2, 40, 40 from peakwatch.sources where name = 'feed-drift'`;
    const report = await evaluate();
    expect(checkOf(report, "sources:rejectedCalls", "feed-drift")).toMatchObject({ observedValue: 40, status: "fail" });
    expect(checkOf(report, "sources:pollErrors", "feed-drift")).toMatchObject({ observedValue: 2, status: "warn" });
  });

  it("failed polls count only since the source's last successful poll: a recovered outage clears at once", async () => {
    await addSource("feed-back", 10);
    await db.sql`
      insert into peakwatch.source_counters (source_id, minute, polls, errors)
      select id, date_trunc('minute', now()) - interval '20 minutes', 30, 30 from peakwatch.sources where name = 'feed-back'`;
    await db.sql`update peakwatch.sources set last_success_at = now() - interval '25 minutes' where name = 'feed-back'`;
    expect(checkOf(await evaluate(), "sources:pollErrors", "feed-back")).toMatchObject({ observedValue: 30, status: "fail" });
    await db.sql`update peakwatch.sources set last_success_at = now() - interval '1 minute' where name = 'feed-back'`;
    expect(checkOf(await evaluate(), "sources:pollErrors", "feed-back")).toMatchObject({ observedValue: 0, status: "pass" });
  });

  it("a source that polls fine but brings fewer new calls than its declared floor warns (silent source); no floor, no reading", async () => {
    await addSource("feed-quiet", 10);
    await addSource("feed-no-floor", 10);
    await db.sql`update peakwatch.sources set expected_min_calls = 3, expected_window_minutes = 60 where name = 'feed-quiet'`;
    const counters = (newCalls: number) => db.sql`
      insert into peakwatch.source_counters (source_id, minute, polls, errors, fetched, new_calls)
      select id, date_trunc('minute', now()) - interval '10 minutes', 20, 0, 0, ${newCalls} from peakwatch.sources where name in ('feed-quiet', 'feed-no-floor')
      on conflict (source_id, minute) do update set new_calls = excluded.new_calls`;
    await counters(1);
    const quiet = await evaluate();
    expect(checkOf(quiet, "sources:newCallRate", "feed-quiet")).toMatchObject({ observedValue: 1, status: "warn" });
    expect(checkOf(quiet, "sources:newCallRate", "feed-quiet").output).toContain("fewer than the 3 expected");
    expect(quiet.checks.some((c) => c.name === "sources:newCallRate" && c.componentId === "feed-no-floor")).toBe(false);

    await counters(4);
    expect(checkOf(await evaluate(), "sources:newCallRate", "feed-quiet")).toMatchObject({ observedValue: 4, status: "pass" });
  });

  it("a brisk source whose latest polls brought nothing is silent before its window drains, and clears with the next poll that brings calls", async () => {
    await addSource("feed-brisk", 10);
    await db.sql`update peakwatch.sources set expected_min_calls = 40, expected_window_minutes = 5 where name = 'feed-brisk'`;
    const minute = (ago: number, newCalls: number) => db.sql`
      insert into peakwatch.source_counters (source_id, minute, polls, errors, fetched, new_calls)
      select id, date_trunc('minute', now()) - make_interval(mins => ${ago}), 1, 0, ${newCalls}, ${newCalls} from peakwatch.sources where name = 'feed-brisk'`;
    await minute(3, 20);
    await minute(2, 25);
    await minute(1, 0);
    const quiet = checkOf(await evaluate(), "sources:newCallRate", "feed-brisk");
    expect(quiet).toMatchObject({ observedValue: 45, status: "warn" });
    expect(quiet.output).toContain("its last 1 successful polls brought no new call");
    await minute(0, 13);
    expect(checkOf(await evaluate(), "sources:newCallRate", "feed-brisk")).toMatchObject({ observedValue: 58, status: "pass" });
  });

  it("with no feed source enabled there is nothing to grade, and a note says so", async () => {
    const report = await evaluate();
    expect(report.checks.some((c) => c.name.startsWith("sources:"))).toBe(false);
    expect(report.notes).toContain("no feed source is enabled: source checks have nothing to read");
  });
});

describe("calls: copycats", () => {
  it("a ticker called for three addresses within the hour warns; two addresses pass", async () => {
    const ids = await insertTokens(db.sql, 5);
    await insertCalls(ids.slice(0, 2), 600, "PEPE");
    expect(checkOf(await evaluate(), "calls:copycatTickers")).toMatchObject({ observedValue: 0, status: "pass" });
    await insertCalls(ids.slice(2, 3), 300, "$pepe");
    const check = checkOf(await evaluate(), "calls:copycatTickers");
    expect(check).toMatchObject({ observedValue: 1, status: "warn" });
    expect(check.output).toContain("PEPE ×3");
  });

  it("copycats are a data event: graded and alerted on, but they never change the service's status", async () => {
    const ids = await insertTokens(db.sql, 3);
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 15 }]);
    await insertCalls(ids, 300, "COPY");
    const report = await evaluate({ HEALTH_FUNCTIONS: "tracker", HEALTH_THRESHOLDS: RELAXED_RESPONSE_TIMES });
    expect(checkOf(report, "calls:copycatTickers").status).toBe("warn");
    const others = report.checks.filter((c) => c.name !== "calls:copycatTickers" && c.status !== "pass").map((c) => c.name);
    expect(others).toEqual([]);
    expect(report.status).toBe("pass");
  });
});

describe("bounded queries", () => {
  it("an area whose query overruns its budget is cancelled by Postgres (SET LOCAL statement_timeout), fails alone, and holds no connection afterwards", async () => {
    const locker = db.connect(1);
    try {
      await locker.begin(async (tx) => {
        await tx`lock table peakwatch.runs in access exclusive mode`;
        const report = await evaluate({ HEALTH_CHECK_TIMEOUT_MS: "300" });
        const runs = checkOf(report, "runs:evaluation");
        expect(runs.status).toBe("fail");
        expect(runs.output).toMatch(/statement timeout/);
        expect(checkOf(report, "queue:dueBacklog").status).toBe("pass");
        const waiting = await db.connect(1)<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and state = 'active'`;
        expect(waiting[0]!.n).toBe(0);
      });
    } finally {
      await locker.end();
    }
  });
});

describe("credentials", () => {
  it("grades seconds to expiry; an expiring one warns once its refresh failed; expired and configured-but-missing credentials fail", async () => {
    await db.sql`truncate peakwatch.credential_status`;
    await db.sql`
      insert into peakwatch.credential_status (name, strategy, expires_at, last_checked_at, last_outcome, consecutive_failures)
      values ('fresh', 'oauth2_client_credentials', now() + interval '2 hours', now(), 'fresh', 0),
             ('due', 'oauth2_client_credentials', now() + interval '5 minutes', now(), 'fresh', 0),
             ('stuck', 'oauth2_client_credentials', now() + interval '5 minutes', now(), 'failed', 2),
             ('expired', 'oauth2_client_credentials', now() - interval '1 minute', now(), 'failed', 3)`;
    const report = await evaluate({ HEALTH_CREDENTIALS: "missing" });
    expect(checkOf(report, "credentials:secondsToExpiry", "fresh").status).toBe("pass");
    // Due for its refresh, which token-refresh makes within a minute: not a warning by itself.
    expect(checkOf(report, "credentials:secondsToExpiry", "due").status).toBe("pass");
    expect(checkOf(report, "credentials:secondsToExpiry", "stuck").status).toBe("warn");
    expect(checkOf(report, "credentials:secondsToExpiry", "expired").status).toBe("fail");
    expect(checkOf(report, "credentials:secondsToExpiry", "missing")).toMatchObject({ status: "fail", observedValue: null });
  });
});

describe("invocations", () => {
  it("failed requests to a function in the last hour warn; outcomes never collected warn too", async () => {
    await db.sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome, status_code, error, resolved_at)
      values (1, 'tracker', now() - interval '5 minutes', 'failed', 401, 'HTTP 401', now()),
             (2, 'tracker', now() - interval '2 hours', 'failed', 500, 'HTTP 500', now()),
             (3, 'tracker', now() - interval '20 minutes', 'pending', null, null, null)`;
    const report = await evaluate();
    const failed = checkOf(report, "invocations:failed", "tracker");
    expect(failed).toMatchObject({ observedValue: 1, status: "warn" });
    expect(failed.output).toContain("401");
    expect(checkOf(report, "invocations:unresolved")).toMatchObject({ observedValue: 1, status: "warn" });
  });

  it("a function that answers again clears its failed-invocations alarm: failures before its last success are history", async () => {
    await db.sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome, status_code, error, resolved_at)
      values (11, 'tracker', now() - interval '9 minutes', 'failed', 401, 'HTTP 401', now()),
             (12, 'tracker', now() - interval '8 minutes', 'failed', 401, 'HTTP 401', now()),
             (13, 'tracker', now() - interval '1 minute', 'ok', 202, null, now())`;
    expect(checkOf(await evaluate(), "invocations:failed", "tracker")).toMatchObject({ observedValue: 0, status: "pass" });
    await db.sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome, status_code, error, resolved_at)
      values (14, 'tracker', now() - interval '10 seconds', 'failed', 404, 'HTTP 404', now())`;
    expect(checkOf(await evaluate(), "invocations:failed", "tracker")).toMatchObject({ observedValue: 1, status: "warn" });
  });

  it("a pending request whose 401 pg_net already holds counts before the collector runs; a held 200 clears the alarm the same way", async () => {
    await db.sql`truncate net._http_response`;
    await db.sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome)
      values (21, 'tracker', now() - interval '20 seconds', 'pending')`;
    await db.sql`insert into net._http_response (id, status_code, timed_out, error_msg) values (21, 401, false, null)`;
    const failed = checkOf(await evaluate(), "invocations:failed", "tracker");
    expect(failed).toMatchObject({ observedValue: 1, status: "warn" });
    expect(failed.output).toContain("HTTP 401");
    await db.sql`
      insert into peakwatch.invocations (request_id, function_name, requested_at, outcome)
      values (22, 'tracker', now() - interval '5 seconds', 'pending')`;
    await db.sql`insert into net._http_response (id, status_code, timed_out, error_msg) values (22, 202, false, null)`;
    expect(checkOf(await evaluate(), "invocations:failed", "tracker")).toMatchObject({ observedValue: 0, status: "pass" });
  });
});

describe("deploy drift", () => {
  it("a database whose latest migration is older than the code's fails, naming both versions; each function's release is reported", async () => {
    await insertRuns(db.sql, [{ outcome: "ok", secondsAgo: 30 }]);
    await db.sql`update peakwatch.runs set release = 'git-abc123' where function_name = 'tracker'`;
    const current = await evaluate();
    expect(checkOf(current, "deploy:migrationVersion")).toMatchObject({ status: "pass", observedValue: EXPECTED_MIGRATION });
    expect(checkOf(current, "deploy:release", "tracker")).toMatchObject({ status: "pass", observedValue: "git-abc123" });

    const [newest] = await db.sql<{ version: string; name: string | null; statements: string[] | null }[]>`
      delete from supabase_migrations.schema_migrations where version = (select max(version) from supabase_migrations.schema_migrations)
      returning version, name, statements`;
    try {
      const behind = checkOf(await evaluate(), "deploy:migrationVersion");
      expect(behind.status).toBe("fail");
      expect(behind.output).toContain(EXPECTED_MIGRATION);
    } finally {
      await db.sql`insert into supabase_migrations.schema_migrations (version, name, statements) values (${newest!.version}, ${newest!.name}, ${newest!.statements})`;
    }
  });
});

describe("pg_cron, Redis and isolation", () => {
  it("a database without pg_cron skips the cron checks with a note instead of failing", async () => {
    const report = await evaluate();
    expect(report.checks.some((c) => c.name.startsWith("cron:"))).toBe(false);
    expect(report.notes).toContain("cron checks skipped: pg_cron is not installed in this database");
  });

  it("with pg_cron's tables, failed job runs, switched-off jobs and a stopped scheduler are graded", async () => {
    // The columns these checks read, as pg_cron defines them (only the app database has the extension).
    await db.sql`create schema cron`;
    try {
      await db.sql`create table cron.job (jobid bigint primary key, jobname text, active boolean not null default true)`;
      await db.sql`
        create table cron.job_run_details (runid bigint primary key, jobid bigint, status text, return_message text, start_time timestamptz)`;
      await db.sql`
        insert into cron.job values (1, 'peakwatch-tracker', true), (2, 'peakwatch-poller', true), (3, 'someone-elses-job', false)`;
      await db.sql`
        insert into cron.job_run_details
        select g, 1 + g % 2, 'succeeded', '1 row', now() - make_interval(secs => 60 * (200 - g)) from generate_series(1, 199) g`;
      const calm = await evaluate();
      expect(checkOf(calm, "cron:failedRuns")).toMatchObject({ observedValue: 0, status: "pass" });
      expect(checkOf(calm, "cron:inactiveJobs")).toMatchObject({ observedValue: 0, status: "pass" });
      expect(checkOf(calm, "cron:lastRunAge").status).toBe("pass");

      await db.sql`update cron.job set active = false where jobid = 2`;
      await db.sql`
        insert into cron.job_run_details values (200, 1, 'failed', 'ERROR: invoke_function: secrets are not set', now() - interval '1 minute')`;
      const broken = await evaluate();
      const failed = checkOf(broken, "cron:failedRuns");
      expect(failed).toMatchObject({ observedValue: 1, status: "warn" });
      expect(failed.output).toContain("peakwatch-tracker: ERROR: invoke_function");
      expect(checkOf(broken, "cron:inactiveJobs")).toMatchObject({ observedValue: 1, status: "warn" });

      // The job succeeds again: the alarm clears at once instead of holding for the rest of the hour.
      await db.sql`insert into cron.job_run_details values (201, 1, 'succeeded', '1 row', now() - interval '10 seconds')`;
      expect(checkOf(await evaluate(), "cron:failedRuns")).toMatchObject({ observedValue: 0, status: "pass" });

      await db.sql`update cron.job_run_details set start_time = start_time - interval '15 minutes'`;
      expect(checkOf(await evaluate(), "cron:lastRunAge").status).toBe("fail");
    } finally {
      await db.sql`drop schema cron cascade`;
    }
  });

  it("Redis answering passes; an unreachable Redis fails with host:port in the output, and the rest is still read", async () => {
    const up = createRedis(redisUrl());
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`);
    try {
      const healthy = await evaluateHealth({ sql: db.sql, redis: up, config: testHealthConfig() });
      expect(checkOf(healthy, "redis:responseTime")).toMatchObject({ status: "pass", observedUnit: "ms" });
      const broken = await evaluateHealth({ sql: db.sql, redis: down, config: testHealthConfig() });
      const check = checkOf(broken, "redis:responseTime");
      expect(check).toMatchObject({ status: "fail", observedValue: null });
      expect(check.output).toMatch(/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      expect(checkOf(broken, "queue:dueBacklog").status).toBe("pass");
    } finally {
      up.disconnect();
      down.disconnect();
    }
  });

  it("an area whose query fails becomes one failing check with the reason, and the others still answer", async () => {
    await db.sql`alter function peakwatch.recent_calls(interval, interval, integer, integer, integer) rename to recent_calls_gone`;
    try {
      const report = await evaluate();
      const check = checkOf(report, "pipeline:evaluation");
      expect(check.status).toBe("fail");
      expect(check.output).toMatch(/recent_calls.*does not exist/);
      expect(report.status).toBe("fail");
      expect(checkOf(report, "queue:dueBacklog").status).toBe("pass");
    } finally {
      await db.sql`alter function peakwatch.recent_calls_gone(interval, interval, integer, integer, integer) rename to recent_calls`;
    }
  });
});
