import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FunctionsServer } from "../../dev/lib/functions-server.ts";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";
import { chromium } from "../helpers/chromium.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { insertRuns, RELAXED_RESPONSE_TIMES, resetPipeline } from "../helpers/health.ts";
import { countColour, decodePng } from "../helpers/png.ts";
import { startTestFunctions } from "../helpers/functions.ts";

const serviceKey = `test-service-${randomBytes(12).toString("hex")}`;
const SCREENSHOT = path.join(repoRoot, "test-output", "health-status.png");
let db: TestDatabase;
let server: FunctionsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestFunctions({
    dbUrl: db.url,
    serviceKey,
    env: { HEALTH_FUNCTIONS: "tracker", HEALTH_CACHE_MS: "0", HEALTH_THRESHOLDS: RELAXED_RESPONSE_TIMES },
  });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});
beforeEach(async () => {
  await resetPipeline(db.sql);
});

const health = (pathAndQuery = "", init: RequestInit = {}) => fetch(`${server.url}/health${pathAndQuery}`, init);
const withKey = { headers: { Authorization: `Bearer ${serviceKey}` } };

async function trackerLastOk(secondsAgo: number) {
  await db.sql`truncate peakwatch.runs`;
  await insertRuns(db.sql, [{ outcome: "ok", secondsAgo }]);
}

describe("health served by real Deno at /functions/v1/health", () => {
  it("a healthy pipeline answers 200 application/health+json that an Uptime Kuma keyword and JSON query accept", async () => {
    await trackerLastOk(15);
    const response = await health();
    const raw = await response.text();
    expect(response.status, raw).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/health+json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    // Keyword monitor: a case-sensitive substring of the raw body.
    expect(raw).toContain('"status":"pass"');
    expect(raw.startsWith('{"status":"pass"')).toBe(true);
    // JSON-query monitor: `status` == "pass", and a check by its key.
    const body = JSON.parse(raw);
    expect(body.status).toBe("pass");
    expect(body.checks["tracker:lastSuccessAge"][0]).toMatchObject({ status: "pass", observedUnit: "s" });
    expect(body).toMatchObject({ unprocessedTokens: 0, lastRun: { function: "tracker", outcome: "ok" } });
    expect(typeof body.averageLag).toBe("number");
  });

  it("HEAD answers the same status and headers without a body", async () => {
    await trackerLastOk(15);
    const response = await health("", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/health+json");
    expect(await response.text()).toBe("");
  });

  it("Accept: text/html on the plain path still gets JSON (no content negotiation)", async () => {
    await trackerLastOk(15);
    const response = await health("", { headers: { Accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8" } });
    expect(response.headers.get("content-type")).toBe("application/health+json");
    expect(JSON.parse(await response.text()).status).toBe("pass");
  });

  it("a stopped tracker fails within its threshold (503, the keyword is gone), and recovery passes again", async () => {
    await trackerLastOk(590);
    expect((await health()).status).toBe(200); // 590 s: warn, still up for a checker
    await trackerLastOk(610);
    const down = await health();
    const raw = await down.text();
    expect(down.status).toBe(503);
    expect(raw.startsWith('{"status":"fail"')).toBe(true);
    expect(JSON.parse(raw).checks["tracker:lastSuccessAge"][0]).toMatchObject({ status: "fail" });
    await trackerLastOk(5);
    const up = await health();
    expect(up.status).toBe(200);
    expect((await up.text()).startsWith('{"status":"pass"')).toBe(true);
  });

  it("?strict turns a warning into 503; without it a warning is 200", async () => {
    await trackerLastOk(200);
    const warning = await health();
    expect(warning.status).toBe(200);
    expect(JSON.parse(await warning.text()).status).toBe("warn");
    expect((await health("?strict")).status).toBe(503);
    expect((await health("?strict=true")).status).toBe(503);
    expect((await health("?strict=0")).status).toBe(200);
  });

  it("the public answer carries no error text, internals or secrets; the service key adds each check's output", async () => {
    await insertRuns(db.sql, [
      { outcome: "ok", secondsAgo: 30 },
      { outcome: "error", secondsAgo: 10, error: "insert failed: password authentication failed for user pw_internal at db.internal:6543" },
    ]);
    const publicRaw = await (await health()).text();
    expect(JSON.parse(publicRaw).checks["tracker:consecutiveErrors"][0]).toMatchObject({ status: "warn", observedValue: 1 });
    for (const secret of ["output", "password", "pw_internal", "db.internal", serviceKey, db.url, db.name, "127.0.0.1"]) {
      expect(publicRaw, secret).not.toContain(secret);
    }
    const detailed = JSON.parse(await (await health("", withKey)).text());
    expect(detailed.checks["tracker:consecutiveErrors"][0].output).toContain("password authentication failed");
    for (const entries of Object.values(detailed.checks) as Array<Array<{ output?: string }>>) {
      for (const entry of entries) expect(typeof entry.output).toBe("string");
    }
    // A wrong key is simply the public view, never a 401.
    const wrong = await health("", { headers: { Authorization: "Bearer not-the-key-not-the-key" } });
    expect(wrong.status).toBe(200);
    expect(await wrong.text()).not.toContain("output");
  });

  it("other paths answer 404, other methods 405, a bad format 400", async () => {
    expect((await health("/nope")).status).toBe(404);
    expect((await health("", { method: "POST" })).status).toBe(405);
    expect((await health("?format=xml")).status).toBe(400);
  });

  it("/health/status and ?format=html render the status page, which headless Chromium draws in colour with the lag chart", async () => {
    // Three hours of a tracker run every minute with a 40-minute outage, and the latest success 11 minutes ago.
    await db.sql`
      insert into peakwatch.runs (function_name, trigger, started_at, finished_at, outcome, counts)
      select 'tracker', 'cron', now() - make_interval(mins => m) - interval '20 seconds', now() - make_interval(mins => m), 'ok', '{}'
      from generate_series(11, 180) m
      where m not between 60 and 100`;
    // The orchestrator's evaluations record the queue's overdue p95 (evaluateAndNotify's counts).
    await db.sql`
      insert into peakwatch.runs (function_name, trigger, started_at, finished_at, outcome, counts)
      select 'orchestrator', 'cron', now() - make_interval(mins => m), now() - make_interval(mins => m) + interval '2 seconds', 'ok',
             jsonb_build_object('healthOverdueP95Seconds', case when m between 60 and 100 then 900 else 20 end)
      from generate_series(1, 180) m`;
    const page = await health("/status");
    const html = await page.text();
    expect(page.status).toBe(503);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" id="lag-chart"');
    expect(await (await health("?format=html")).text()).toContain('id="lag-chart"');

    const dom = chromium(`${server.url}/health/status`, ["--dump-dom"]);
    expect(dom.status, dom.stderr).toBe(0);
    expect(dom.stdout).toMatch(/<polyline class="series-tracker"[^>]* points="[\d., ]{40,}"/);
    expect(dom.stdout).toMatch(/<polyline class="series-overdue"[^>]* points="[\d., ]{40,}"/);
    expect(dom.stdout).toContain('id="overall"');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    const shot = chromium(`${server.url}/health/status`, [`--screenshot=${SCREENSHOT}`]);
    expect(shot.status, shot.stderr).toBe(0);
    const image = decodePng(readFileSync(SCREENSHOT));
    expect([image.width, image.height]).toEqual([1100, 1400]);
    expect(countColour(image, "#fee2e2"), "the failing banner's background").toBeGreaterThan(5_000);
    expect(countColour(image, "#2563eb", 30), "the tracker lag line").toBeGreaterThan(200);
  });
});
