import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** The headless browser: $CHROMIUM_BIN, else `chromium` (Debian package `chromium`) on the PATH. */
export function chromiumBinary(): string {
  const candidates = [process.env.CHROMIUM_BIN, "chromium", "chromium-browser"].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    if (spawnSync(candidate, ["--version"], { encoding: "utf8" }).status === 0) return candidate;
  }
  throw new Error("headless Chromium not found: install the Debian package `chromium` (apt-get install -y chromium) or set CHROMIUM_BIN");
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
