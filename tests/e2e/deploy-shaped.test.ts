import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDeployUpload, firstRequest, renderReport, type FunctionReport } from "../../dev/lib/deploy-check.ts";
import { HOSTED_DENO_VERSION, installedDenoVersion } from "../../dev/lib/deno.ts";
import { BUNDLE_LIMIT_BYTES, bootFunction, checkFunction, functionsToDeploy, stageDeployUpload, stageIntruders, type Stage } from "../../dev/lib/deploy-stage.ts";
import { functionLockPath, functionNames } from "../../dev/lib/function-maps.ts";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { freePort } from "../../dev/lib/ports.ts";
import { redisUrl } from "../helpers/tracker.ts";

let db: TestDatabase;
let stage: Stage;
let reports: FunctionReport[] = [];
const env = () => ({
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_DB_URL: db.url,
  REDIS_URL: redisUrl(),
  PEAKWATCH_REDIS_PREFIX: `pw-deploy-${randomBytes(3).toString("hex")}:`,
  SUPABASE_SERVICE_ROLE_KEY: `deploy-test-${randomBytes(12).toString("hex")}`,
});

beforeAll(async () => {
  db = await createTestDatabase();
  stage = stageDeployUpload();
});
afterAll(async () => {
  stage?.cleanup();
  await db?.drop();
});

describe("exactly what `supabase functions deploy` uploads, under the hosted Deno version", () => {
  it(`runs Deno ${HOSTED_DENO_VERSION}, the version hosted Edge Runtime runs, pinned in package.json`, () => {
    expect(installedDenoVersion()).toBe(HOSTED_DENO_VERSION);
    expect(JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).devDependencies.deno).toBe(HOSTED_DENO_VERSION);
  });

  it("the stage holds supabase/functions and config.toml only: no node_modules, no root deno.json or package.json, an empty DENO_DIR", () => {
    expect(stageIntruders(stage)).toEqual([]);
    expect(functionsToDeploy(stage)).toEqual(functionNames());
    expect(functionsToDeploy(stage).length).toBeGreaterThanOrEqual(5);
  });

  it("every committed lock is a v4 lock, which hosted runtimes read (v5 is refused by older ones)", () => {
    for (const name of functionNames()) expect(JSON.parse(readFileSync(functionLockPath(name), "utf8")).version, name).toBe("4");
  });

  it("every function resolves from its own deno.json and frozen lock alone, type-checks, boots from the stage and answers its first request", async () => {
    reports = await checkDeployUpload(stage, { env: env(), port: freePort });
    mkdirSync(path.join(repoRoot, "test-output"), { recursive: true });
    writeFileSync(path.join(repoRoot, "test-output", "deploy-report.md"), `${renderReport(reports, stage.denoVersion)}\n`);
    for (const report of reports) {
      expect(report.error, report.name).toBeUndefined();
      expect(report.checked, report.name).toBe(true);
      expect(report.npmPackages, report.name).toBeGreaterThan(0);
      expect(report.npmBytes, report.name).toBeLessThan(BUNDLE_LIMIT_BYTES);
      const expected = firstRequest(report.name).expectStatus;
      if (expected > 0) {
        expect(report.firstAnswer, report.name).toMatchObject({ status: expected });
        expect(JSON.parse(report.firstAnswer!.body).error.code).toBe("unauthorized");
      } else {
        // health: its JSON document, whatever the pipeline's state in this empty database
        expect([200, 503]).toContain(report.firstAnswer!.status);
        expect(JSON.parse(report.firstAnswer!.body)).toHaveProperty("status");
      }
    }
    expect(reports.map((r) => r.name)).toEqual(functionNames());
  }, 300_000);

  it("a required setting missing on hosted (REDIS_URL) answers 503 JSON naming it, and the log names it too; nothing falls back to 127.0.0.1", async () => {
    const { REDIS_URL: _dropped, ...withoutRedis } = env();
    const booted = await bootFunction(stage, "health", await freePort(), withoutRedis);
    try {
      const response = await fetch(booted.url);
      const body = await response.json();
      expect(response.status).toBe(503);
      expect(body.error).toMatchObject({ code: "not_configured", message: expect.stringContaining("REDIS_URL") });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(booted.output()).toMatch(/"event":"health.error".*REDIS_URL/);
    } finally {
      await booted.stop();
    }
  }, 120_000);

  it("an import that deploy cannot resolve fails the check", () => {
    const broken = stageDeployUpload();
    try {
      appendFileSync(path.join(broken.functionsDir, "_shared", "log.ts"), '\nimport "left-pad";\n');
      const result = checkFunction(broken, "health");
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/left-pad/);
    } finally {
      broken.cleanup();
    }
  }, 120_000);
});
