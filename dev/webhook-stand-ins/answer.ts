/** What a stand-in answers: status, content type and the exact body bytes the real service sends. */
export interface Answer {
  status: number;
  contentType?: string;
  body: string;
  headers?: Record<string, string>;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  contentType: "application/json",
  body: JSON.stringify(body),
  headers,
});

export const text = (status: number, body: string, headers: Record<string, string> = {}): Answer => ({
  status,
  contentType: "text/html",
  body,
  headers,
});

/** Injected failures a test can queue per provider. */
export type Fault = "rate_limited" | "server_error";

export function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}
