import { z } from "zod";
import { loadConfig } from "../config/config.ts";
import type { EgressKind } from "./errors.ts";
import { createEgress, type Egress, transportEgress } from "./fetch.ts";
import { createEgressPolicy, DEFAULT_MAX_BYTES } from "./policy.ts";
import { systemResolver } from "./resolver.ts";

const flag = z.enum(["1", "true", "0", "false", ""]).default("").transform((value) => value === "1" || value === "true");
const hostList = z.string().default("").transform((value) => value.split(",").map((host) => host.trim()).filter((host) => host !== ""));
const cap = (kind: EgressKind) => z.coerce.number().int().min(1_024).max(100_000_000).default(DEFAULT_MAX_BYTES[kind]);

export const egressEnv = z.object({
  /** Set by `npm start` and the tests only: plain http to loopback, where the stand-ins live. */
  PEAKWATCH_LOCAL_DEV: flag,
  /** Comma-separated hostnames or IP literals a feed may reach although they are not public. */
  PEAKWATCH_EGRESS_ALLOW_PRIVATE_HOSTS: hostList,
  PEAKWATCH_EGRESS_MAX_BYTES_PROVIDER: cap("provider"),
  PEAKWATCH_EGRESS_MAX_BYTES_FEED: cap("feed"),
  PEAKWATCH_EGRESS_MAX_BYTES_CREDENTIAL: cap("credential"),
  PEAKWATCH_EGRESS_MAX_BYTES_WEBHOOK: cap("webhook"),
});

/** Comma-separated hosts in `variable` (PEAKWATCH_CREDENTIAL_<NAME>_HOSTS, PEAKWATCH_FEED_TOKEN_<X>_HOSTS). */
export function hostsFrom(read: (name: string) => string | undefined, variable: string): string[] {
  return hostList.parse(read(variable) ?? "");
}

export function egressFromEnv(env?: Record<string, string | undefined>, transport?: typeof fetch): Egress {
  const config = loadConfig(egressEnv, env);
  return createEgress(createEgressPolicy({
    localDev: config.PEAKWATCH_LOCAL_DEV,
    allowPrivateHosts: config.PEAKWATCH_EGRESS_ALLOW_PRIVATE_HOSTS,
    maxBytes: {
      provider: config.PEAKWATCH_EGRESS_MAX_BYTES_PROVIDER,
      feed: config.PEAKWATCH_EGRESS_MAX_BYTES_FEED,
      credential: config.PEAKWATCH_EGRESS_MAX_BYTES_CREDENTIAL,
      webhook: config.PEAKWATCH_EGRESS_MAX_BYTES_WEBHOOK,
    },
    resolver: systemResolver(),
  }), transport);
}

let cached: Egress | undefined;

/** The isolate's egress, from the environment on first use. */
export function processEgress(): Egress {
  cached ??= egressFromEnv();
  return cached;
}

/** The egress a module uses: the one it was given, a test double's transport, or the isolate's. */
export function egressOf(options: { egress?: Egress; fetch?: typeof fetch }): Egress {
  return options.egress ?? (options.fetch ? transportEgress(options.fetch) : processEgress());
}
