import { z } from "zod";
import { chainId, type IngestCall } from "../calls/call-input.ts";
import { DEXSCREENER_BASE_URL } from "../providers/dexscreener.ts";
import { fetchJson } from "../providers/http.ts";
import { SchemaError } from "../providers/types.ts";
import { parseSourceConfig } from "./config.ts";
import { addressKey, describeIssue, parseItems } from "./items.ts";
import { type Gate, MAX_GATE_WAIT_MS, type Source, type SourceReader, ThrottledError } from "./types.ts";

export const MAX_PROFILES_PER_READ = 1_000;

export const dexscreenerProfilesConfig = z.strictObject({
  /** Only tokens on these chains become calls; every chain when absent. */
  chains: z.array(chainId).min(1).max(50).optional(),
  timeoutMs: z.int().min(100).max(30_000).default(10_000),
});

/**
 * One item of `GET /token-profiles/latest/v1`: only what a call needs is checked (chain and token
 * address); icon, header, description and links are not read.
 */
export const dexProfileSchema = z.object({
  chainId: z.string().min(1),
  tokenAddress: z.string().min(1),
  openGraph: z.string().nullish(),
});

export type DexProfile = z.infer<typeof dexProfileSchema>;

/** The profile's time: DexScreener stamps it into the openGraph image URL (`?timestamp=<ms>`). */
export function profileTime(profile: DexProfile, now: number): string {
  const stamp = Number(profile.openGraph?.match(/[?&]timestamp=(\d{10,16})(?:&|$)/)?.[1]);
  // A stamp from the future (beyond clock skew) or before DexScreener existed is not trusted.
  const trusted = Number.isFinite(stamp) && stamp > Date.UTC(2019, 0, 1) && stamp <= now + 300_000;
  return new Date(trusted ? stamp : now).toISOString();
}

/** A token profile is a call of that token: one per (chain, address), however often it is listed again. */
export function profileCall(profile: DexProfile, now: number): IngestCall {
  return {
    external_id: `${profile.chainId}:${addressKey(profile.tokenAddress)}`,
    chain: profile.chainId,
    address: profile.tokenAddress,
    ticker: null,
    group: null,
    called_at: profileTime(profile, now),
    entry_price_usd: null,
    entry_market_cap_usd: null,
  };
}

export interface DexScreenerProfilesDeps {
  baseUrl?: string;
  /** The shared 60/min quota of the profiles endpoint. */
  gate: Gate;
  fetch?: typeof fetch;
  now?: () => number;
}

export function createDexScreenerProfilesReader(source: Source, deps: DexScreenerProfilesDeps): SourceReader {
  const config = parseSourceConfig(dexscreenerProfilesConfig, source);
  const url = `${(deps.baseUrl ?? DEXSCREENER_BASE_URL).replace(/\/+$/, "")}/token-profiles/latest/v1`;
  const now = deps.now ?? Date.now;
  return {
    // The endpoint has no paging: the latest profiles, once per poll. No cursor: calls dedupe on their id.
    maxPages: 1,
    async readPage(_cursor, signal) {
      if (!(await deps.gate.acquire(signal, MAX_GATE_WAIT_MS))) throw new ThrottledError("dexscreener profiles: no rate-limit slot");
      const { body } = await fetchJson(url, { signal, fetch: deps.fetch, timeoutMs: config.timeoutMs });
      if (!Array.isArray(body)) throw new SchemaError("dexscreener_profiles: expected a JSON array of token profiles");
      // The endpoint lists a few dozen; an answer of a million tiny items is read no further than this.
      const listed = body.slice(0, MAX_PROFILES_PER_READ);
      const parsed = parseItems("dexscreener_profiles", listed, (item, index) => {
        const profile = dexProfileSchema.safeParse(item);
        return profile.success
          ? { ok: true, value: profile.data }
          : { ok: false, issue: describeIssue(profile.error, (path) => `[${index}]${path.map((key) => `.${String(key)}`).join("")}`) };
      });
      const wanted = parsed.items.filter((profile) => !config.chains || config.chains.includes(profile.chainId.toLowerCase()));
      const at = now();
      return {
        calls: wanted.map((profile) => profileCall(profile, at)),
        unreadable: parsed.unreadable,
        firstIssue: parsed.firstIssue,
        skipped: parsed.items.length - wanted.length + (body.length - listed.length),
        cursor: null,
        more: false,
        warning: null,
      };
    },
  };
}
