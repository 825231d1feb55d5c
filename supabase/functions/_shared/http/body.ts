import type { z } from "zod";
import { badRequest, payloadTooLarge, type IssueDetail } from "./errors.ts";

export function issuesOf(error: z.ZodError): IssueDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(body)", message: issue.message }));
}

/** Reads a JSON body (empty means `{}`), bounded in size, and parses it with `schema` or throws 400/413. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S, maxBytes = 1_000_000): Promise<z.infer<S>> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) throw payloadTooLarge(`body is ${declared} bytes; the limit is ${maxBytes}`);
  const text = await request.text();
  if (new TextEncoder().encode(text).length > maxBytes) throw payloadTooLarge(`body is over the ${maxBytes}-byte limit`);
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
