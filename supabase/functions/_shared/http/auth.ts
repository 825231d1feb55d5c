import { notConfigured, unauthorized } from "./errors.ts";

type Read = (name: string) => string | undefined;

/** The new secret keys: `SUPABASE_SECRET_KEYS` is a JSON object of name → key (sb_secret_…). */
function secretKeys(read: Read): string[] {
  const raw = read("SUPABASE_SECRET_KEYS");
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object") return [];
    const entries = Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string");
    // "default" first: that is the one outgoing calls use.
    return entries.sort(([a], [b]) => Number(b === "default") - Number(a === "default")).map(([, key]) => key);
  } catch {
    // A malformed SUPABASE_SECRET_KEYS contributes nothing; the other keys still work.
    return [];
  }
}

const usable = (key: string | undefined): key is string => typeof key === "string" && key.length >= 16;

/**
 * Whether the legacy service-role JWT is accepted. A project that has disabled its legacy keys still
 * has SUPABASE_SERVICE_ROLE_KEY in the environment, so this is a setting:
 * PEAKWATCH_ACCEPT_LEGACY_SERVICE_ROLE_KEY = true | false | auto (default: accepted only while the
 * project has no new secret keys).
 */
export function acceptsLegacyKey(read: Read, secrets: readonly string[] = secretKeys(read)): boolean {
  const setting = (read("PEAKWATCH_ACCEPT_LEGACY_SERVICE_ROLE_KEY") ?? "auto").trim().toLowerCase();
  if (setting === "true") return true;
  if (setting === "false") return false;
  return !secrets.some(usable);
}

/** Keys a caller may present: the new secret keys, a dedicated function secret, and the legacy key if accepted. */
export function acceptedKeys(read: Read): string[] {
  const secrets = secretKeys(read);
  const keys = [...secrets, read("PEAKWATCH_FUNCTION_SECRET")];
  if (acceptsLegacyKey(read, secrets)) keys.push(read("SUPABASE_SERVICE_ROLE_KEY"));
  return keys.filter(usable);
}

/**
 * Headers for a call from one function to another. A new secret key goes in `apikey`, as Supabase
 * documents for sb_secret_ keys (they are not JWTs); Bearer is only for the legacy JWT key.
 */
export function outgoingKeyHeaders(read: Read): Record<string, string> {
  const secret = secretKeys(read).find(usable);
  if (secret) return { apikey: secret };
  const functionSecret = read("PEAKWATCH_FUNCTION_SECRET");
  if (usable(functionSecret)) return { apikey: functionSecret };
  const legacy = read("SUPABASE_SERVICE_ROLE_KEY");
  return usable(legacy) ? { Authorization: `Bearer ${legacy}`, apikey: legacy } : {};
}

/** Every key the request presents: the Bearer token and the apikey header. */
function presentedKeys(request: Request): string[] {
  const bearer = request.headers.get("Authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const apikey = request.headers.get("apikey")?.trim();
  return [bearer, apikey].filter((key): key is string => !!key);
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

const matches = (request: Request, keys: readonly string[]) =>
  presentedKeys(request).some((presented) => keys.some((key) => constantTimeEqual(key, presented)));

/** Fails closed: with no key configured on the server, nobody gets in. */
export function requireServiceKey(request: Request, keys: readonly string[]): void {
  if (keys.length === 0) throw notConfigured("SUPABASE_SECRET_KEYS (or SUPABASE_SERVICE_ROLE_KEY, or PEAKWATCH_FUNCTION_SECRET)");
  if (!matches(request, keys)) throw unauthorized();
}

/**
 * Whether the request carries one of `keys`, without throwing: for public endpoints that show more
 * to the service key (health). No configured key means nobody gets the detailed view.
 */
export function hasServiceKey(request: Request, keys: readonly string[]): boolean {
  return keys.length > 0 && matches(request, keys);
}
