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
