import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildInfoStale, buildInfoText, newestMigration } from "../../dev/lib/build-info.ts";
import { functionConfigPath, functionNames, mapDrift, runtimeImports } from "../../dev/lib/function-maps.ts";
import { repoRoot } from "../../dev/lib/supabase-cli.ts";

const packageJson = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const configToml = readFileSync(path.join(repoRoot, "supabase", "config.toml"), "utf8");

describe("import maps where deploy reads them", () => {
  it("every function folder has its own deno.json and lock, and each map agrees with package.json", () => {
    expect(functionNames().length).toBeGreaterThanOrEqual(5);
    expect(mapDrift(), "run `npm run maps`").toEqual([]);
  });

  it("each map sends every bare name to an npm: specifier at package.json's exact version, and nothing else", () => {
    for (const name of functionNames()) {
      const { imports } = JSON.parse(readFileSync(functionConfigPath(name), "utf8"));
      for (const [bare, specifier] of Object.entries(imports as Record<string, string>)) {
        expect(specifier).toBe(`npm:${bare}@${packageJson.dependencies[bare]}`);
      }
      expect(Object.keys(imports).sort()).toEqual(Object.keys(packageJson.dependencies).sort());
    }
  });

  it("Node (vitest, tsx) runs the very versions the maps name", () => {
    for (const [name, version] of Object.entries(packageJson.dependencies as Record<string, string>)) {
      const installed = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")).version;
      expect(installed, name).toBe(version);
    }
  });

  it("a version range in package.json is refused: the maps need one exact version", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "pw-maps-")), "package.json");
    writeFileSync(file, JSON.stringify({ dependencies: { zod: "^4.6.7" } }));
    expect(() => runtimeImports(file)).toThrow(/zod is "\^4.6.7"; pin an exact version/);
  });

  it("the migration version the code expects is the newest migration file (build-info.ts is rebuilt by `npm run maps`)", () => {
    expect(buildInfoStale(), "run `npm run maps`").toBe(false);
    expect(buildInfoText()).toContain(`"${newestMigration()}"`);
  });

  it("config.toml lists every function with verify_jwt off and names no import_map (each folder's deno.json is the map)", () => {
    for (const name of functionNames()) expect(configToml).toMatch(new RegExp(`\\[functions\\.${name}\\]\\nverify_jwt = false`));
    expect(configToml).not.toMatch(/^\s*import_map\s*=/m);
  });
});
