import type { Egress } from "../egress/fetch.ts";
import type { BearerSource } from "./bearer.ts";
import { createDexScreenerProfilesReader } from "./dexscreener-profiles.ts";
import { createGeckoTerminalTrendingReader } from "./geckoterminal-trending.ts";
import { createHttpFeedReader } from "./http-feed.ts";
import { type Gate, type Source, SourceConfigError, type SourceReader } from "./types.ts";

/** What readers need from outside: upstream base URLs, the shared quotas and the bearer store. */
export interface SourceDeps {
  bearer: BearerSource;
  gates: { dexscreenerProfiles: Gate; geckoterminal: Gate };
  dexscreenerBaseUrl?: string;
  geckoterminalBaseUrl?: string;
  fetch?: typeof fetch;
  /** Defaults to the isolate's egress (egress/env.ts). */
  egress?: Egress;
  now?: () => number;
}

/** A reader for one poll of `source`; throws SourceConfigError when its config does not fit its kind. */
export function readerFor(source: Source, deps: SourceDeps): SourceReader {
  switch (source.kind) {
    case "http_feed":
      return createHttpFeedReader(source, { bearer: deps.bearer, fetch: deps.fetch, egress: deps.egress });
    case "dexscreener_profiles":
      return createDexScreenerProfilesReader(source, { baseUrl: deps.dexscreenerBaseUrl, gate: deps.gates.dexscreenerProfiles, fetch: deps.fetch, now: deps.now });
    case "geckoterminal_trending":
      return createGeckoTerminalTrendingReader(source, { baseUrl: deps.geckoterminalBaseUrl, gate: deps.gates.geckoterminal, fetch: deps.fetch, now: deps.now });
    case "manual":
      throw new SourceConfigError(`source ${source.name} is of kind manual: it has nothing to poll; its calls are posted`);
  }
}
