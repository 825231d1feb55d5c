import { loadConfig, sharedEnv } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { databaseConnection } from "../db/connection.ts";
import { createSql } from "../db/client.ts";
import { acceptedKeys } from "../http/auth.ts";
import { createRedis } from "../limits/redis.ts";
import { loadHealthConfig } from "./config.ts";
import { cachedEvaluation, evaluateHealth } from "./evaluate.ts";
import type { HealthHandlerDeps } from "./handler.ts";

let cached: HealthHandlerDeps | undefined;

/** Built once per isolate on first request: a small Postgres pool, one Redis client, the settings. */
export function healthDeps(): HealthHandlerDeps {
  if (cached) return cached;
  const env = loadConfig(sharedEnv);
  const db = databaseConnection(env);
  const config = loadHealthConfig();
  const sql = createSql(db.url, { ssl: db.ssl, max: 3, applicationName: "peakwatch-health" });
  const redis = createRedis(env.REDIS_URL);
  cached = {
    sql,
    config,
    keys: acceptedKeys(readEnv),
    evaluate: cachedEvaluation(() => evaluateHealth({ sql, redis, config }), config.cacheMs),
  };
  return cached;
}
