/**
 * `npm run maps`: writes every function's deno.json (and dev/deno.json) from package.json and
 * _shared/health/build-info.ts (the newest migration, which health compares with the database), then
 * regenerates each function's deno.lock with the hosted Deno version in a staged copy of exactly
 * what deploy uploads, so the lock is one the hosted runtime reads (lockfile v4).
 * `npm run maps:check`: exits 1 naming every map that disagrees with package.json.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildInfoPath, buildInfoStale, buildInfoText } from "./lib/build-info.ts";
import { cacheFunction, checkFunction, stageDeployUpload } from "./lib/deploy-stage.ts";
import { devConfigText, devDenoConfig, functionConfigPath, functionConfigText, functionLockPath, functionNames, mapDrift } from "./lib/function-maps.ts";

try {
  if (process.argv.includes("--check")) {
    const problems = [...mapDrift(), ...(buildInfoStale() ? ["supabase/functions/_shared/health/build-info.ts names an older migration"] : [])];
    if (problems.length > 0) {
      console.error(`maps: ${problems.join("; ")}. Run \`npm run maps\`.`);
      process.exit(1);
    }
    console.log("maps: every function's deno.json matches package.json");
  } else {
    for (const name of functionNames()) writeFileSync(functionConfigPath(name), functionConfigText());
    writeFileSync(buildInfoPath, buildInfoText());
    writeFileSync(devDenoConfig, devConfigText());
    const stage = stageDeployUpload({ withoutLocks: true });
    try {
      for (const name of functionNames()) {
        for (const [step, result] of [["cache", cacheFunction(stage, name, { frozen: false })], ["check", checkFunction(stage, name)]] as const) {
          if (result.status !== 0) throw new Error(`deno ${step} for ${name} failed:\n${result.stderr}`);
        }
        copyFileSync(functionLockPath(name, stage.functionsDir), functionLockPath(name));
        console.log(`maps: ${path.relative(process.cwd(), functionLockPath(name))} written by deno ${stage.denoVersion}`);
      }
    } finally {
      stage.cleanup();
    }
  }
} catch (error) {
  console.error(`maps: ${(error as Error).message}`);
  process.exit(1);
}
