import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./supabase-cli.ts";

/**
 * package.json is the one source of versions. Its `dependencies` are exactly the npm packages the
 * functions import, pinned to exact versions; every function folder gets a deno.json mapping each
 * bare name to `npm:<name>@<version>`, because `supabase functions deploy` reads the import map
 * from the function's own folder and never from the repo root. dev/deno.json maps the same names
 * for the dev tools that run under Deno (the local functions router, Deno-side tests).
 */
export const functionsDir = path.join(repoRoot, "supabase", "functions");
export const devDenoConfig = path.join(repoRoot, "dev", "deno.json");

/** Every deployable function: a folder of supabase/functions with an index.ts, `_shared` excluded. */
export function functionNames(root = functionsDir): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("_") && existsSync(path.join(root, entry.name, "index.ts")))
    .map((entry) => entry.name)
    .sort();
}

const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export function runtimeImports(packageJsonPath = path.join(repoRoot, "package.json")): Record<string, string> {
  const pkg = JSON.parse(readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
  const imports: Record<string, string> = {};
  for (const [name, version] of Object.entries(pkg.dependencies ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (!EXACT_VERSION.test(version)) {
      throw new Error(`package.json: dependency ${name} is "${version}"; pin an exact version (the function import maps and locks use it)`);
    }
    imports[name] = `npm:${name}@${version}`;
  }
  return imports;
}

export function functionConfigText(imports = runtimeImports()): string {
  return `${JSON.stringify({ imports }, null, 2)}\n`;
}

export function devConfigText(imports = runtimeImports()): string {
  // The dev tools never write a lock: only the function folders hold locks, made by the hosted Deno.
  return `${JSON.stringify({ imports, lock: false }, null, 2)}\n`;
}

export const functionConfigPath = (name: string, root = functionsDir) => path.join(root, name, "deno.json");
export const functionLockPath = (name: string, root = functionsDir) => path.join(root, name, "deno.lock");

/** Each map that is missing or differs from what package.json says, with the command that fixes it. */
export function mapDrift(): string[] {
  const problems: string[] = [];
  const expectedFunction = functionConfigText();
  for (const name of functionNames()) {
    const file = functionConfigPath(name);
    if (!existsSync(file)) problems.push(`supabase/functions/${name}/deno.json is missing`);
    else if (readFileSync(file, "utf8") !== expectedFunction) problems.push(`supabase/functions/${name}/deno.json differs from package.json`);
    if (!existsSync(functionLockPath(name))) problems.push(`supabase/functions/${name}/deno.lock is missing`);
  }
  if (!existsSync(devDenoConfig) || readFileSync(devDenoConfig, "utf8") !== devConfigText()) problems.push("dev/deno.json differs from package.json");
  return problems;
}
