/**
 * The npm registry reachable here has some packages' platform binaries for linux-x64 only (the
 * Supabase CLI 3.x, and Deno 2.1.4 — the hosted version the project pins), so `npm install` leaves
 * their other optional platform packages out of package-lock.json and `npm ci` then refuses the
 * lock as out of sync. This adds lock entries for them (npm skips them on this platform, as it
 * would anyway). Run after any `npm install` that rewrites the lock.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./lib/supabase-cli.ts";

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Platform {
  os: string;
  cpu: string;
  libc?: string;
}

/** Platform packages by name suffix: `@supabase/cli-linux-x64`, `@deno/linux-x64-glibc`, … */
const platformOf: Record<string, Platform> = {
  "darwin-arm64": { os: "darwin", cpu: "arm64" },
  "darwin-x64": { os: "darwin", cpu: "x64" },
  "linux-arm64": { os: "linux", cpu: "arm64", libc: "glibc" },
  "linux-arm64-glibc": { os: "linux", cpu: "arm64", libc: "glibc" },
  "linux-arm64-musl": { os: "linux", cpu: "arm64", libc: "musl" },
  "linux-x64": { os: "linux", cpu: "x64", libc: "glibc" },
  "linux-x64-glibc": { os: "linux", cpu: "x64", libc: "glibc" },
  "linux-x64-musl": { os: "linux", cpu: "x64", libc: "musl" },
  "windows-arm64": { os: "win32", cpu: "arm64" },
  "windows-x64": { os: "win32", cpu: "x64" },
  "win32-arm64": { os: "win32", cpu: "arm64" },
  "win32-x64": { os: "win32", cpu: "x64" },
};

/** The packages whose platform binaries the registry here serves for linux-x64 only. */
const PLATFORM_PARENTS = ["supabase", "deno"];

export function missingPlatformEntries(lock: { packages: Record<string, LockEntry> }): string[] {
  return PLATFORM_PARENTS.flatMap((parent) =>
    Object.keys(lock.packages[`node_modules/${parent}`]?.optionalDependencies ?? {})
      .map((name) => `node_modules/${name}`)
      .filter((key) => !(key in lock.packages))
  );
}

function platformFor(name: string): Platform {
  const suffix = name.replace(/^@supabase\/cli-/, "").replace(/^@deno\//, "");
  const platform = platformOf[suffix];
  if (!platform) throw new Error(`fix-lock: unknown platform package ${name}`);
  return platform;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lockPath = path.join(repoRoot, "package-lock.json");
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as { packages: Record<string, LockEntry> };
  const missing = missingPlatformEntries(lock);
  for (const key of missing) {
    const name = key.replace("node_modules/", "");
    const parent = PLATFORM_PARENTS.find((p) => lock.packages[`node_modules/${p}`]?.optionalDependencies?.[name] !== undefined)!;
    const platform = platformFor(name);
    lock.packages[key] = {
      version: lock.packages[`node_modules/${parent}`]!.optionalDependencies![name]!,
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
