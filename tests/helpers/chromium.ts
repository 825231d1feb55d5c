import { spawnSync } from "node:child_process";
import { findChromium } from "../../dev/lib/chromium.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** The headless browser that `npm test` found or installed (dev/lib/chromium.ts). */
export function chromiumBinary(): string {
  const found = findChromium();
  if (!found) throw new Error("headless Chromium not found: `npm test` installs it on Debian as root; elsewhere run `apt-get install -y chromium` or set CHROMIUM_BIN");
  return found;
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--hide-scrollbars",
];

/** Runs headless Chromium on `url` with a throw-away profile; `action` is --screenshot=<file> or --dump-dom. */
export function chromium(url: string, action: string[], windowSize = "1100,1400"): { status: number | null; stdout: string; stderr: string } {
  const profile = mkdtempSync(path.join(tmpdir(), "peakwatch-chromium-"));
  try {
    const result = spawnSync(chromiumBinary(), [...FLAGS, `--user-data-dir=${profile}`, `--window-size=${windowSize}`, ...action, url], {
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
