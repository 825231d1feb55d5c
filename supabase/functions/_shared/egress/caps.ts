import { EgressError, type EgressKind } from "./errors.ts";

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * The answer with its body capped at `maxBytes`, counted as it streams: a declared Content-Length
 * over the cap is refused before a byte is read, and a body that grows past it is cancelled, so
 * memory never holds more than the cap (plus one chunk), whatever the upstream sends.
 */
export function capBody(response: Response, kind: EgressKind, maxBytes: number, host: string): Response {
  const tooLarge = () => new EgressError("too_large", `${kind} answer from ${host} is over the ${maxBytes}-byte cap`, response.status);
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    void response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body || NULL_BODY_STATUS.has(response.status)) return response;
  const reader = response.body.getReader();
  let seen = 0;
  const capped = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > maxBytes) {
        await reader.cancel().catch(() => {});
        controller.error(tooLarge());
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(capped, { status: response.status, statusText: response.statusText, headers: response.headers });
}
