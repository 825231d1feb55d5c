import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Starts a loopback server (port 0 = any free port) and answers a 500 for anything a handler throws. */
export async function listen(handler: Handler, port = 0, host = "127.0.0.1"): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    Promise.resolve(handler(req, res, url)).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${address.address}:${address.port}` };
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Held-open "timeout" requests and keep-alive sockets would otherwise delay close.
    server.closeAllConnections();
  });
}

export function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": `${contentType}; charset=utf-8`, ...headers });
  res.end(text);
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, "application/json", JSON.stringify(body), headers);
}

export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function bearerOf(req: IncomingMessage): string | null {
  return req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? null;
}

/** An opaque token with a readable prefix, like real servers issue. */
export const opaqueToken = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Faults switched on from tests or by hand (`POST /__admin/faults`): each applies to `count`
 * requests, or until cleared; several kinds may be active at once, "none" clears them all.
 */
export class FaultQueue<Kind extends string> {
  readonly #active = new Map<Kind, { remaining: number; params: Record<string, number | boolean> }>();

  set(kind: Kind | "none", count = Number.POSITIVE_INFINITY, params: Record<string, number | boolean> = {}): void {
    if (kind === "none") this.#active.clear();
    else this.#active.set(kind as Kind, { remaining: count, params });
  }

  /** The first active fault this request is subject to, if any (consuming one of its count). */
  take(applies: (kind: Kind) => boolean = () => true): { kind: Kind; params: Record<string, number | boolean> } | null {
    for (const [kind, fault] of this.#active) {
      if (!applies(kind)) continue;
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.#active.delete(kind);
      return { kind, params: fault.params };
    }
    return null;
  }

  current(): Kind[] {
    return [...this.#active.keys()];
  }
}
