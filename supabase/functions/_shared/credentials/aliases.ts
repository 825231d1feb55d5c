import { z } from "zod";
import { credentialName } from "./definitions.ts";

/** A Redis key a reader outside peakwatch already uses, e.g. `token:ACCOUNT1`. */
const aliasKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:_.{}-]{0,127}$/, "a Redis key of letters, digits and : _ . { } -");

/** PEAKWATCH_TOKEN_ALIASES: {"<credential>": ["token:<ACCOUNT>", ...]}. */
export const tokenAliases = z.record(credentialName, z.array(aliasKey).min(1).max(20));
export type TokenAliases = z.infer<typeof tokenAliases>;

/**
 * Parses the optional alias map. Keys under peakwatch's own prefix are refused: an alias must never
 * overwrite a cache entry, lock or counter of ours.
 */
export function parseTokenAliases(raw: string | undefined, keyPrefix: string): { aliases: TokenAliases } | { error: string } {
  if (raw === undefined || raw.trim() === "") return { aliases: {} };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { error: "not valid JSON" };
  }
  const parsed = tokenAliases.safeParse(json);
  if (!parsed.success) return { error: parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ") };
  const clash = Object.values(parsed.data).flat().find((key) => key.startsWith(keyPrefix));
  if (clash) return { error: `${clash}: must not start with PEAKWATCH_REDIS_PREFIX (${keyPrefix})` };
  return { aliases: parsed.data };
}
