import { createServer, type IncomingHttpHeaders } from "node:http";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Recorder {
  url: string;
  requests: RecordedRequest[];
  /** Status to answer with, per path prefix (default 200). */
  respondWith(status: number, pathPrefix?: string): void;
  close(): Promise<void>;
}

/** A loopback HTTP server that records every request and answers JSON: a stand-in for a functions host. */
export async function startRecorder(): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const statuses = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      requests.push({ method: req.method ?? "", path, headers: req.headers, body });
      const status = [...statuses].find(([prefix]) => path.startsWith(prefix))?.[1] ?? 200;
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(status < 300 ? { ok: true } : { error: { code: "unauthorized" } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith: (status, pathPrefix = "/") => void statuses.set(pathPrefix, status),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
