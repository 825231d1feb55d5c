import { readEnv } from "./config/env.ts";

/**
 * Long work answers at once and continues in the background. On the Supabase edge runtime that is
 * EdgeRuntime.waitUntil (the isolate stays up until the promise settles); under plain Deno and
 * Node the process simply keeps running the promise.
 */
interface EdgeRuntimeLike {
  waitUntil(promise: Promise<unknown>): void;
}

export function runInBackground(promise: Promise<unknown>): void {
  const edge = (globalThis as { EdgeRuntime?: EdgeRuntimeLike }).EdgeRuntime;
  const guarded = promise.catch(() => {});
  if (edge && typeof edge.waitUntil === "function") edge.waitUntil(guarded);
}

/** Aborts `controller` when the runtime announces shutdown, so loops stop between batches. */
export function abortOnShutdown(controller: AbortController): () => void {
  const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
  if (typeof target.addEventListener !== "function") return () => {};
  const onUnload = () => controller.abort(new Error("runtime shutting down"));
  target.addEventListener("beforeunload", onUnload);
  return () => target.removeEventListener?.("beforeunload", onUnload);
}

// Evaluated when the isolate loads this module, before its first request is served.
const isolateStartedAt = Date.now();
const DEFAULT_EDGE_WALL_CLOCK_MS = 150_000;

/**
 * The wall clock belongs to the worker, not to the request: hosted Edge Functions stop an isolate
 * 150 s (free) or 400 s (paid) after it booted, whatever request it is serving. On the edge runtime
 * (or wherever PEAKWATCH_WALL_CLOCK_MS is set) a budget is cut to what that clock leaves, minus a
 * reserve to record the run; elsewhere (Node, the local functions server) there is no such clock.
 */
export function budgetWithinWallClock(requestedMs: number, reserveMs = 5_000, now = Date.now()): number {
  const configured = readEnv("PEAKWATCH_WALL_CLOCK_MS");
  const onEdge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== "undefined";
  if (!configured && !onEdge) return requestedMs;
  const wallClockMs = configured ? Number(configured) : DEFAULT_EDGE_WALL_CLOCK_MS;
  if (!Number.isFinite(wallClockMs) || wallClockMs <= 0) return requestedMs;
  const left = wallClockMs - (now - isolateStartedAt) - reserveMs;
  return Math.max(0, Math.min(requestedMs, left));
}

/** The release of the running code: the deployment on hosted Supabase, the git commit locally. */
export function releaseId(): string {
  return readEnv("DENO_DEPLOYMENT_ID") ?? readEnv("PEAKWATCH_RELEASE") ?? "unknown";
}
