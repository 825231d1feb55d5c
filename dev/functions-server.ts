/**
 * Local stand-in for the Supabase edge runtime (which needs Docker): real Deno serving every
 * supabase/functions/<name>/index.ts at http://127.0.0.1:54321/functions/v1/<name>. Each index.ts
 * runs unchanged: its `Deno.serve(handler)` call hands the handler to this router instead of
 * opening a port, and requests reach it with the path the edge runtime gives (`/<name>/...`).
 * Run with: deno run --allow-net --allow-env --allow-read dev/functions-server.ts
 */
type Handler = (request: Request) => Response | Promise<Response>;

const functionsDir = new URL("../supabase/functions/", import.meta.url);
const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");
const handlers = new Map<string, Handler>();
const realServe = Deno.serve.bind(Deno);
let loading = "";

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (first: unknown, second?: unknown) => {
  const handler = (typeof first === "function" ? first : typeof second === "function" ? second : (first as { handler: Handler }).handler) as Handler;
  handlers.set(loading, handler);
  return { finished: Promise.resolve(), shutdown: async () => {}, ref() {}, unref() {}, addr: { hostname: "127.0.0.1", port, transport: "tcp" } };
};

const bootErrors = new Map<string, string>();
for await (const entry of Deno.readDir(functionsDir)) {
  if (!entry.isDirectory || entry.name.startsWith("_")) continue;
  loading = entry.name;
  try {
    await import(new URL(`${entry.name}/index.ts`, functionsDir).href);
  } catch (error) {
    // Like the edge runtime, a function that fails to boot answers 503 and the others keep serving.
    bootErrors.set(entry.name, error instanceof Error ? error.message : String(error));
    console.error(JSON.stringify({ event: "functions.boot_error", function: entry.name, error: bootErrors.get(entry.name) }));
  }
}
loading = "";

realServe({ hostname: "127.0.0.1", port, onListen: () => console.log(JSON.stringify({ event: "functions.listening", port, functions: [...handlers.keys()].sort() })) }, async (request) => {
  const url = new URL(request.url);
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  if (match && bootErrors.has(match[1]!)) {
    return Response.json({ code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" }, { status: 503 });
  }
  const handler = match ? handlers.get(match[1]!) : undefined;
  if (!match || !handler) return Response.json({ error: { code: "not_found", message: "no such function" } }, { status: 404 });
  const inner = new URL(`/${match[1]}${match[2] ?? ""}${url.search}`, url.origin);
  try {
    return await handler(new Request(inner, request));
  } catch {
    // The edge runtime answers an uncaught exception with a bare 500; so do we.
    return Response.json({ error: { code: "internal", message: "function crashed" } }, { status: 500 });
  }
});
