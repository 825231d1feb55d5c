/**
 * Local stand-in for the Supabase edge runtime (which needs Docker): every function of
 * supabase/functions in a Deno process of its own, started with that function's own deno.json and
 * lock (what deploy reads), behind one router at http://127.0.0.1:<FUNCTIONS_PORT>/functions/v1/<name>.
 * A function that fails to boot answers 503 BOOT_ERROR and the others keep serving.
 * Run with: deno run --config dev/deno.json --allow-net --allow-env --allow-read --allow-run --allow-sys dev/functions-server.ts
 */
const functionsDir = new URL("../supabase/functions/", import.meta.url);
const hostScript = new URL("./function-host.ts", import.meta.url).pathname;
const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");

interface Worker {
  port: number;
  process: Deno.ChildProcess;
  exited: boolean;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function listening(workerPort: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port: workerPort })).close();
    return true;
  } catch {
    return false;
  }
}

function startWorker(name: string): Worker {
  const workerPort = freePort();
  const config = new URL(`${name}/deno.json`, functionsDir).pathname;
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", config, "--frozen", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", hostScript, name, String(workerPort)],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  });
  const worker: Worker = { port: workerPort, process: command.spawn(), exited: false };
  worker.process.status.then(() => (worker.exited = true));
  return worker;
}

const workers = new Map<string, Worker>();
for await (const entry of Deno.readDir(functionsDir)) {
  if (!entry.isDirectory || entry.name.startsWith("_")) continue;
  workers.set(entry.name, startWorker(entry.name));
}

const bootErrors = new Map<string, string>();
const deadline = Date.now() + 120_000;
for (const [name, worker] of workers) {
  while (!(await listening(worker.port))) {
    if (worker.exited || Date.now() > deadline) {
      bootErrors.set(name, worker.exited ? "worker exited during boot" : "worker did not listen within 120 s");
      console.error(JSON.stringify({ event: "functions.boot_error", function: name, error: bootErrors.get(name) }));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const stopAll = async () => {
  for (const worker of workers.values()) {
    try {
      worker.process.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.race([Promise.all([...workers.values()].map((w) => w.process.status)), new Promise((r) => setTimeout(r, 3_000))]);
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stopAll);
Deno.addSignalListener("SIGINT", stopAll);

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => console.log(JSON.stringify({ event: "functions.listening", port, functions: [...workers.keys()].filter((n) => !bootErrors.has(n)).sort() })),
}, async (request) => {
  const url = new URL(request.url);
  const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  const name = match?.[1];
  const worker = name ? workers.get(name) : undefined;
  if (!name || !worker) return Response.json({ error: { code: "not_found", message: "no such function" } }, { status: 404 });
  if (bootErrors.has(name) || worker.exited) {
    return Response.json({ code: "BOOT_ERROR", message: "Worker failed to boot (please check logs)" }, { status: 503 });
  }
  const target = `http://127.0.0.1:${worker.port}/${name}${match![2] ?? ""}${url.search}`;
  try {
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    const answer = await fetch(target, { method: request.method, headers: request.headers, body, redirect: "manual" });
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  } catch {
    // The edge runtime answers a worker that died mid-request with a bare 500; so do we.
    return Response.json({ error: { code: "internal", message: "function crashed" } }, { status: 500 });
  }
});
