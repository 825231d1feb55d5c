import { Redis } from "ioredis";
import { commandExists, run } from "./shell.ts";

type Log = (message: string) => void;

async function pingError(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    redis.disconnect();
  }
}

/** Returns how to stop redis-server when this call started it, or null when it was already running. */
export async function ensureRedis(url: string, log: Log): Promise<(() => void) | null> {
  const error = await pingError(url);
  if (error === null) {
    log("Redis found");
    return null;
  }
  const { hostname, port } = new URL(url);
  const local = hostname === "127.0.0.1" || hostname === "localhost";
  if (!local || !commandExists("redis-server")) {
    throw new Error(`cannot reach Redis at ${hostname}:${port || 6379} (${error}). Start Redis there, or set REDIS_URL.`);
  }
  log("starting redis-server on 127.0.0.1");
  run("redis-server", ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", port || "6379", "--save", "", "--appendonly", "no"]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await pingError(url)) === null) return () => run("redis-cli", ["-p", port || "6379", "shutdown", "nosave"]);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("redis-server was started but does not answer PING within 15 s");
}
