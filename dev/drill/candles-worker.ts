/**
 * A collector process for the candles drill's kill -9 test: the same runCandles the function runs,
 * in a process of its own so the drill can SIGKILL it mid-backfill. Settings come from the env.
 */
import "../../bench/local-dev.ts";
import { z } from "zod";
import { runCandles } from "../../supabase/functions/_shared/candles/collect.ts";
import { defaultCalendarFor, geckoLanes } from "../../supabase/functions/_shared/candles/deps.ts";
import { createSql } from "../../supabase/functions/_shared/db/client.ts";
import { createRedis } from "../../supabase/functions/_shared/limits/redis.ts";

const env = z.object({
  DRILL_DB_URL: z.string(),
  REDIS_URL: z.string(),
  GECKOTERMINAL_BASE_URL: z.string(),
  PEAKWATCH_REDIS_PREFIX: z.string(),
  GECKOTERMINAL_CALLS_PER_MINUTE: z.coerce.number(),
  DRILL_TIME_BUDGET_MS: z.coerce.number().default(600_000),
}).parse(process.env);

const sql = createSql(env.DRILL_DB_URL, { max: 2, applicationName: "peakwatch-drill-worker" });
const redis = createRedis(env.REDIS_URL);
const lanes = geckoLanes(redis, { baseUrl: env.GECKOTERMINAL_BASE_URL, keyPrefix: env.PEAKWATCH_REDIS_PREFIX, perMinute: env.GECKOTERMINAL_CALLS_PER_MINUTE });
const stats = await runCandles({
  sql, owner: `drill-worker-${process.pid}`, providers: { geckoterminal: lanes }, calendarFor: defaultCalendarFor,
  timeBudgetMs: env.DRILL_TIME_BUDGET_MS, signal: new AbortController().signal, settings: { idlePollMs: 1_000 },
});
console.log(JSON.stringify(stats));
await sql.end({ timeout: 1 });
redis.disconnect();
