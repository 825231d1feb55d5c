import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "../../supabase/functions/_shared/credentials/http.ts";
import { egressFromEnv } from "../../supabase/functions/_shared/egress/env.ts";
import { postJson } from "../../supabase/functions/_shared/notify/deliver.ts";
import { fetchJson } from "../../supabase/functions/_shared/providers/http.ts";
import { UpstreamError } from "../../supabase/functions/_shared/providers/types.ts";

const FIFTY_MB = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "[");

/** Streams 50 MB to whoever asks, with or without a Content-Length, counting what it managed to write. */
let server: Server;
let base: string;
const written: Record<string, number> = {};

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? "/";
    request.resume();
    response.writeHead(200, { "content-type": "application/json", ...(path.startsWith("/declared") ? { "content-length": String(FIFTY_MB) } : {}) });
    written[path] = 0;
    const pump = () => {
      while (written[path]! < FIFTY_MB) {
        written[path]! += CHUNK.length;
        if (!response.write(CHUNK)) return void response.once("drain", pump);
      }
      response.end();
    };
    response.on("close", () => response.destroy());
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// Local dev, as the stand-ins are on loopback; the caps are the defaults every deployment gets.
const egress = egressFromEnv({ PEAKWATCH_LOCAL_DEV: "1" });

describe("a 50 MB upstream answer", () => {
  it.each(["/chunked-provider", "/declared-provider"])("from a provider (%s) is a counted failure that names the cap, not a dead isolate", async (path) => {
    const error = await fetchJson(`${base}${path}`, { egress, timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toBe(`provider answer from ${base} is over the 5000000-byte cap`);
    // A status below 500: not retried.
    expect((error as UpstreamError).status).toBe(200);
  });

  it("from a feed is refused at the feed's cap", async () => {
    const error = await fetchJson(`${base}/chunked-feed?api_key=feedkey-0123456789`, { egress, egressRequest: { kind: "feed", checkAddresses: true } }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`feed answer from ${base} is over the 5000000-byte cap`);
  });

  it("from a webhook is a failed delivery", async () => {
    await expect(postJson(`${base}/chunked-webhook/services/T0/B0/hooksecret0123`, { text: "x" }, { egress, timeoutMs: 30_000 }))
      .rejects.toThrow(`webhook answer from ${base} is over the 64000-byte cap`);
  });

  it("from a token endpoint is a credential failure", async () => {
    const error = await send("cc", `${base}/chunked-credential`, { method: "POST" }, { egress, timeoutMs: 30_000, allowedHosts: [] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "CredentialUpstreamError", kind: "schema", message: `credential "cc": credential answer from ${base} is over the 100000-byte cap` });
  });

  it("is never read whole: the connection is dropped soon after the cap", async () => {
    for (const path of ["/chunked-provider", "/chunked-feed?api_key=feedkey-0123456789", "/chunked-credential"]) {
      expect(written[path]).toBeLessThan(FIFTY_MB);
    }
  });
});
