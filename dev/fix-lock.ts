/**
 * The npm registry reachable here has the Supabase CLI 3.x binary for linux-x64 only, so
 * `npm install` leaves its other optional platform packages out of package-lock.json and
 * `npm ci` then refuses the lock as out of sync. This adds lock entries for them (npm skips them
 * on this platform, as it would anyway). Run after any `npm install` that rewrites the lock.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./lib/supabase-cli.ts";

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

const platformOf: Record<string, { os: string; cpu: string; libc?: string }> = {
  "darwin-arm64": { os: "darwin", cpu: "arm64" },
  "darwin-x64": { os: "darwin", cpu: "x64" },
  "linux-arm64": { os: "linux", cpu: "arm64", libc: "glibc" },
  "linux-arm64-musl": { os: "linux", cpu: "arm64", libc: "musl" },
  "linux-x64": { os: "linux", cpu: "x64", libc: "glibc" },
  "linux-x64-musl": { os: "linux", cpu: "x64", libc: "musl" },
  "windows-arm64": { os: "win32", cpu: "arm64" },
  "windows-x64": { os: "win32", cpu: "x64" },
};

export function missingSupabasePlatformEntries(lock: { packages: Record<string, LockEntry> }): string[] {
  const supabase = lock.packages["node_modules/supabase"];
  return Object.keys(supabase?.optionalDependencies ?? {})
    .map((name) => `node_modules/${name}`)
    .filter((key) => !(key in lock.packages));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lockPath = path.join(repoRoot, "package-lock.json");
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as { packages: Record<string, LockEntry> };
  const missing = missingSupabasePlatformEntries(lock);
  for (const key of missing) {
    const name = key.replace("node_modules/", "");
    const platform = platformOf[name.replace("@supabase/cli-", "")];
    if (!platform) throw new Error(`fix-lock: unknown Supabase CLI platform package ${name}`);
    const version = lock.packages["node_modules/supabase"]!.optionalDependencies![name]!;
    lock.packages[key] = {
      version,
      cpu: [platform.cpu],
      dev: true,
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      license: "MIT",
      optional: true,
      os: [platform.os],
    };
  }
  const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)));
  writeFileSync(lockPath, `${JSON.stringify({ ...lock, packages: sorted }, null, 2)}\n`);
  console.log(missing.length ? `fix-lock: added ${missing.length} lock entries` : "fix-lock: lock already complete");
}
