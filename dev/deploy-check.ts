/**
 * `npm run deploy:check`: stages exactly what `supabase functions deploy` uploads, resolves and
 * type-checks every function with its own deno.json and lock under the hosted Deno version (empty
 * DENO_DIR, packages from the registry), boots each one against the local stack and prints, per
 * function, npm package size against the 20 MB limit, boot time and the first request's answer.
 * Exits 1 when any function fails. The same steps run in `npm test` (tests/e2e/deploy-shaped.test.ts).
 */
import { checkDeployUpload, firstRequest, renderReport } from "./lib/deploy-check.ts";
import { stageDeployUpload, stageIntruders } from "./lib/deploy-stage.ts";
import { freePort } from "./lib/ports.ts";
import { readStackSettings } from "./lib/settings.ts";

const settings = readStackSettings();
const stage = stageDeployUpload();
try {
  const intruders = stageIntruders(stage);
  if (intruders.length > 0) throw new Error(`the stage holds ${intruders.join(", ")}, which deploy never uploads`);
  const reports = await checkDeployUpload(stage, {
    port: freePort,
    // Hosted Edge Runtime always sets SUPABASE_URL; the orchestrator needs it to call the other functions.
    env: { SUPABASE_URL: "http://127.0.0.1:9", SUPABASE_DB_URL: settings.dbUrl, REDIS_URL: settings.redisUrl, SUPABASE_SERVICE_ROLE_KEY: `deploy-check-${Date.now()}-key` },
  });
  console.log(renderReport(reports, stage.denoVersion));
  const failed = reports.filter((r) => !r.checked || !r.firstAnswer || (firstRequest(r.name).expectStatus > 0 && r.firstAnswer.status !== firstRequest(r.name).expectStatus));
  if (failed.length > 0) {
    console.error(`deploy-check: ${failed.map((r) => r.name).join(", ")} failed`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`deploy-check: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage.cleanup();
}
