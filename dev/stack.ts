/**
 * `npm run stack`: brings up what peakwatch needs on this machine (see dev/lib/stack.ts) and
 * exits; running it twice changes nothing. Each failure names its step and exits non-zero.
 */
import { bringUpStack } from "./lib/stack.ts";
import { readStackSettings, redact } from "./lib/settings.ts";

const quiet = process.argv.includes("--quiet");
const log = (message: string) => {
  if (!quiet) console.log(`[stack] ${message}`);
};

try {
  const settings = readStackSettings();
  await bringUpStack(settings, log);
  log(`ready: database ${redact(settings.dbUrl)}, redis ${redact(settings.redisUrl)}`);
} catch (error) {
  console.error(`stack: ${(error as Error).message}`);
  process.exit(1);
}
