import { readFileSync } from "node:fs";

/** A recorded payload as the wire delivered it: untyped until a parser has looked at it. */
export function loadFixture(path: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8"));
}

export type JsonObject = Record<string, unknown>;

/** The items of a recorded list: a bare array, `{ pairs }` (DexScreener latest/dex) or `{ data }` (JSON:API). */
export function fixtureItems(path: string): JsonObject[] {
  const payload = loadFixture(path);
  const items = Array.isArray(payload) ? payload : ((payload as { pairs?: unknown[]; data?: unknown[] }).pairs ?? (payload as { data?: unknown[] }).data);
  if (!Array.isArray(items)) throw new Error(`${path} holds no list`);
  return structuredClone(items) as JsonObject[];
}

/** A stand-in fetch answering every request with one response, recording the URLs asked for. */
export function stubFetch(respond: () => Response): typeof fetch & { urls: string[]; inits: RequestInit[] } {
  const urls: string[] = [];
  const inits: RequestInit[] = [];
  const stub = async (input: RequestInfo | URL, init?: RequestInit) => {
    urls.push(String(input));
    inits.push(init ?? {});
    return respond();
  };
  return Object.assign(stub as typeof fetch, { urls, inits });
}

export function jsonResponse(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" }, ...init });
}
