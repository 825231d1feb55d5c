import { z } from "zod";
import { ConfigError } from "../config/config.ts";
import type { Sql } from "../db/client.ts";
import { hostsFrom } from "../egress/env.ts";
import { allowedHostsOf, type CredentialDefinition, credentialConfig, credentialName, readSecrets, secretVariable } from "./definitions.ts";
import { UnknownCredentialError } from "./errors.ts";

export interface CredentialEntry {
  name: string;
  strategy: string;
  config: unknown;
  enabled: boolean;
  source: "database" | "env";
}

export interface CredentialRegistry {
  /** Throws UnknownCredentialError (naming the credential and the configured ones) for a name it does not hold. */
  get(name: string): CredentialDefinition;
  names(): string[];
}

/** PEAKWATCH_CREDENTIALS: {"<name>": {"strategy": "...", ...non-secret config}}. */
const envCredentials = z.record(credentialName, z.looseObject({ strategy: z.string() }));

export function entriesFromEnv(raw: string | undefined): CredentialEntry[] {
  if (raw === undefined || raw.trim() === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError("environment: PEAKWATCH_CREDENTIALS: not valid JSON");
  }
  const parsed = envCredentials.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new ConfigError(`environment: PEAKWATCH_CREDENTIALS: ${problems.join("; ")}`);
  }
  return Object.entries(parsed.data).map(([name, { strategy, ...config }]) => ({ name, strategy, config, enabled: true, source: "env" }));
}

export async function entriesFromDatabase(sql: Sql): Promise<CredentialEntry[]> {
  const rows = await sql<{ name: string; strategy: string; config: unknown; enabled: boolean }[]>`
    select name, strategy, config, enabled from peakwatch.credentials order by name`;
  return rows.map((row) => ({ ...row, source: "database" }));
}

/**
 * Validates every entry and reads its secrets from the environment. Throws one ConfigError listing
 * every problem — each invalid config field and each missing secret variable by name — so a
 * deployment learns everything it must fix at once.
 */
export function buildRegistry(entries: CredentialEntry[], read: (variable: string) => string | undefined): CredentialRegistry {
  const problems: string[] = [];
  const definitions = new Map<string, CredentialDefinition>();
  const disabled = new Set<string>();
  const variablePrefixes = new Map<string, string>();
  const seen = new Map<string, CredentialEntry["source"]>();

  for (const entry of entries) {
    const label = `credential "${entry.name}" (${entry.source === "env" ? "PEAKWATCH_CREDENTIALS" : "peakwatch.credentials"})`;
    const earlier = seen.get(entry.name);
    if (earlier) {
      problems.push(`${label}: also defined in ${earlier === "env" ? "PEAKWATCH_CREDENTIALS" : "peakwatch.credentials"}; define it once`);
      continue;
    }
    seen.set(entry.name, entry.source);
    const prefix = secretVariable(entry.name, "");
    const clash = variablePrefixes.get(prefix);
    if (clash) problems.push(`${label}: its secret variables (${prefix}*) are the same as those of credential "${clash}"`);
    variablePrefixes.set(prefix, entry.name);
    if (!entry.enabled) {
      disabled.add(entry.name);
      continue;
    }
    const parsed = credentialConfig.safeParse({ ...(entry.config as object), strategy: entry.strategy });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${label}: ${issue.path.join(".") || "config"}: ${issue.message}`);
      continue;
    }
    const { secrets, missing } = readSecrets(entry.name, parsed.data, read);
    for (const variable of missing) problems.push(`${label}: secret environment variable ${variable} is not set`);
    if (missing.length === 0) {
      const allowedHosts = allowedHostsOf(entry.name, parsed.data, entry.source, hostsFrom(read, secretVariable(entry.name, "HOSTS")));
      definitions.set(entry.name, { name: entry.name, strategy: parsed.data.strategy, source: entry.source, config: parsed.data, secrets, allowedHosts } as unknown as CredentialDefinition);
    }
  }
  if (problems.length > 0) throw new ConfigError(`credentials: ${problems.join("; ")}`);

  const names = [...definitions.keys()].sort();
  return {
    names: () => names,
    get(name) {
      const definition = definitions.get(name);
      if (!definition) throw new UnknownCredentialError(name, names, disabled.has(name));
      return definition;
    },
  };
}

/**
 * The registry, rebuilt at most every `ttlMs` so a row added to peakwatch.credentials is picked up
 * by a long-lived isolate; concurrent callers share one load.
 */
export function cachedRegistry(load: () => Promise<CredentialRegistry>, ttlMs = 60_000, now: () => number = Date.now) {
  let cached: { at: number; registry: Promise<CredentialRegistry> } | undefined;
  return (): Promise<CredentialRegistry> => {
    if (!cached || now() - cached.at >= ttlMs) {
      const registry = load();
      const entry = { at: now(), registry };
      cached = entry;
      // A failed load is not cached: the next call tries again.
      registry.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.registry;
  };
}
