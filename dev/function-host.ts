/**
 * Hosts one function the way the edge runtime does: its own Deno process, started with that
 * function's own deno.json (and lock), running its index.ts unchanged. `Deno.serve(handler)` is
 * pointed at the port we were given; requests arrive with the path the edge runtime gives
 * (`/<name>/...`). SIGTERM is announced as `beforeunload`, as the edge runtime does before it
 * shuts a worker down, then the process exits.
 * Run with: deno run --config supabase/functions/<name>/deno.json --allow-net --allow-env --allow-read --allow-sys dev/function-host.ts <name> <port>
 */
type Handler = (request: Request) => Response | Promise<Response>;

const [name, portText] = Deno.args;
if (!name || !/^[a-z0-9-]+$/.test(name) || !portText) {
  console.error("usage: function-host.ts <function-name> <port>");
  Deno.exit(2);
}
const port = Number(portText);
const realServe = Deno.serve.bind(Deno);

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (first: unknown, second?: unknown) => {
  const handler = (typeof first === "function" ? first : typeof second === "function" ? second : (first as { handler: Handler }).handler) as Handler;
  return realServe({
    hostname: "127.0.0.1",
    port,
    onListen: () => console.log(JSON.stringify({ event: "function.listening", function: name, port })),
  }, handler);
};

Deno.addSignalListener("SIGTERM", () => {
  globalThis.dispatchEvent(new Event("beforeunload"));
  setTimeout(() => Deno.exit(0), 500);
});

await import(new URL(`../supabase/functions/${name}/index.ts`, import.meta.url).href);
