import { z } from "zod";
import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql } from "../db/client.ts";
import { acceptedKeys, outgoingKeyHeaders } from "../http/auth.ts";
import { createRedis } from "../limits/redis.ts";
import { evaluateAndNotify } from "../notify/evaluate-and-notify.ts";
import type { OrchestratorDeps } from "./handler.ts";
import { supabaseInvoker } from "./invoke.ts";

const orchestratorEnv = sharedEnv.extend({
  SUPABASE_URL: z.url(),
  ORCHESTRATOR_MAX_FAN_OUT: z.coerce.number().int().min(0).max(20).default(3),
  ORCHESTRATOR_DEAD_LETTER_COOLDOWN_SECONDS: z.coerce.number().int().min(0).default(3_600),
});

let cached: OrchestratorDeps | undefined;

export function orchestratorDeps(): OrchestratorDeps {
  if (cached) return cached;
  const env = loadConfig(orchestratorEnv);
  const db = databaseConnection(env);
  const keys = acceptedKeys(readEnv);
  const redis = createRedis(env.REDIS_URL);
  cached = {
    sql: createSql(db.url, { ssl: db.ssl, max: 2, applicationName: "peakwatch-orchestrator" }),
    keys,
    // With no key the invoker is never reached: the endpoint refuses every request first.
    invoke: supabaseInvoker(env.SUPABASE_URL, outgoingKeyHeaders(readEnv)),
    settings: { maxFanOut: env.ORCHESTRATOR_MAX_FAN_OUT, deadLetterCooldownSeconds: env.ORCHESTRATOR_DEAD_LETTER_COOLDOWN_SECONDS },
    // The same checks health answers with, evaluated every minute; alerts go out on transitions only.
    afterRun: async (sql) => (await evaluateAndNotify(sql, { redis })).counts,
  };
  return cached;
}
