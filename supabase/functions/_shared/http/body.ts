import type { z } from "zod";
import { badRequest, payloadTooLarge, type IssueDetail } from "./errors.ts";

export function issuesOf(error: z.ZodError): IssueDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(body)", message: issue.message }));
}

/** Reads a JSON body (empty means `{}`), bounded in size, and parses it with `schema` or throws 400/413. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S, maxBytes = 1_000_000): Promise<z.infer<S>> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) throw payloadTooLarge(`body is ${declared} bytes; the limit is ${maxBytes}`);
  const text = await readBounded(request, maxBytes);
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest("body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw badRequest(`invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  return parsed.data;
}

/**
 * The body as text, read chunk by chunk and abandoned as soon as it passes `maxBytes`: a chunked
 * body without Content-Length (or one that lies about it) never sits in memory whole.
 */
async function readBounded(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(`body is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
