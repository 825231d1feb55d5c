import { spawnSync } from "node:child_process";
import { aptInstall, commandExists, isRoot } from "./shell.ts";

const CANDIDATES = () => [process.env.CHROMIUM_BIN, "chromium", "chromium-browser"].filter((c): c is string => !!c);

/** The headless browser the status-page test draws with: $CHROMIUM_BIN, else `chromium` on the PATH; null when none runs. */
export function findChromium(): string | null {
  for (const candidate of CANDIDATES()) {
    if (spawnSync(candidate, ["--version"], { encoding: "utf8" }).status === 0) return candidate;
  }
  return null;
}

/**
 * Finds Chromium or installs it, the way the stack finds or installs pg_cron: on Debian as root the
 * `chromium` package; anywhere else the exact command to run, and a failure.
 */
export function ensureChromium(log: (message: string) => void): string {
  const found = findChromium();
  if (found) {
    log(`Chromium found (${found})`);
    return found;
  }
  if (commandExists("apt-get") && isRoot()) {
    aptInstall(["chromium"], log);
    const installed = findChromium();
    if (installed) return installed;
  }
  throw new Error("headless Chromium not found: run `apt-get update && apt-get install -y chromium` (Debian/Ubuntu) or set CHROMIUM_BIN to a Chromium binary");
}
