import { notConfigured, unauthorized } from "./errors.ts";

/**
 * Keys a caller may present: the legacy service role key, any of the new secret keys
 * (`SUPABASE_SECRET_KEYS` is a JSON object of name → key), and a dedicated function secret.
 */
export function acceptedKeys(read: (name: string) => string | undefined): string[] {
  const keys = [read("SUPABASE_SERVICE_ROLE_KEY"), read("PEAKWATCH_FUNCTION_SECRET")];
  const secretKeys = read("SUPABASE_SECRET_KEYS");
  if (secretKeys) {
    try {
      const parsed: unknown = JSON.parse(secretKeys);
      if (parsed && typeof parsed === "object") keys.push(...Object.values(parsed).filter((v): v is string => typeof v === "string"));
    } catch {
      // A malformed SUPABASE_SECRET_KEYS contributes nothing; the other keys still work.
    }
  }
  return keys.filter((key): key is string => typeof key === "string" && key.length >= 16);
}

function presentedKey(request: Request): string | null {
  const authorization = request.headers.get("Authorization");
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  return bearer || request.headers.get("apikey")?.trim() || null;
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

/** Fails closed: with no key configured on the server, nobody gets in. */
export function requireServiceKey(request: Request, keys: readonly string[]): void {
  if (keys.length === 0) throw notConfigured("SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEYS)");
  const presented = presentedKey(request);
  if (!presented || !keys.some((key) => constantTimeEqual(key, presented))) throw unauthorized();
}

/**
 * Whether the request carries one of `keys`, without throwing: for public endpoints that show more
 * to the service key (health). No configured key means nobody gets the detailed view.
 */
export function hasServiceKey(request: Request, keys: readonly string[]): boolean {
  if (keys.length === 0) return false;
  const presented = presentedKey(request);
  return presented !== null && keys.some((key) => constantTimeEqual(key, presented));
}
