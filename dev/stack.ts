/**
 * `npm run stack`: brings up what peakwatch needs on this machine (see dev/lib/stack.ts) and
 * exits; running it twice changes nothing. Each failure names its step and exits non-zero.
 */
import { ensureChromium } from "./lib/chromium.ts";
import { bringUpStack } from "./lib/stack.ts";
import { readStackSettings, redact } from "./lib/settings.ts";

const quiet = process.argv.includes("--quiet");
// `npm test` asks for Chromium too: the status-page test draws the page in a real headless browser.
const withChromium = process.argv.includes("--with-chromium");
const log = (message: string) => {
  if (!quiet) console.log(`[stack] ${message}`);
};

try {
  const settings = readStackSettings();
  await bringUpStack(settings, log);
  if (withChromium) ensureChromium(log);
  log(`ready: database ${redact(settings.dbUrl)}, redis ${redact(settings.redisUrl)}`);
} catch (error) {
  console.error(`stack: ${(error as Error).message}`);
  process.exit(1);
}
