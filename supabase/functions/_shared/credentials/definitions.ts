import { z } from "zod";
import { Secret } from "./secret.ts";

export const CREDENTIAL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const credentialName = z.string().regex(CREDENTIAL_NAME, "a lowercase credential name (a-z, 0-9, _ and -)");

// No user:password@ in a URL: config is not secret, so nothing secret may hide in it.
const endpointUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = new URL(value);
  return url.username === "" && url.password === "";
}, "must not carry credentials");

const margin = { refresh_margin_seconds: z.int().min(1).max(86_400).optional() };
const expiresInDefault = { default_expires_in_seconds: z.int().min(1).max(31_536_000).optional() };

/** Non-secret config, as stored in peakwatch.credentials.config (plus its strategy column) or in PEAKWATCH_CREDENTIALS. */
export const credentialConfig = z.discriminatedUnion("strategy", [
  z.strictObject({
    strategy: z.literal("oauth2_client_credentials"),
    token_url: endpointUrl,
    client_id: z.string().min(1).max(512),
    /** RFC 6749 §2.3.1: HTTP Basic (what servers must support) or the id and secret in the form body. */
    client_auth: z.enum(["basic", "post"]).default("basic"),
    scope: z.string().min(1).max(2_000).optional(),
    audience: z.string().min(1).max(2_000).optional(),
    ...expiresInDefault,
    ...margin,
  }),
  z.strictObject({
    strategy: z.literal("oauth2_refresh_token"),
    token_url: endpointUrl,
    client_id: z.string().min(1).max(512),
    /** "none" for public clients, which send only client_id. */
    client_auth: z.enum(["basic", "post", "none"]).default("basic"),
    scope: z.string().min(1).max(2_000).optional(),
    ...expiresInDefault,
    ...margin,
  }),
  z.strictObject({
    strategy: z.literal("tradovate"),
    /** Including the version segment, e.g. https://demo.tradovateapi.com/v1. */
    base_url: endpointUrl,
    username: z.string().min(1).max(64),
    app_id: z.string().min(1).max(64),
    app_version: z.string().min(1).max(64),
    /** Client app id; Tradovate wants a number. */
    cid: z.coerce.number().int().min(0),
    device_id: z.string().min(1).max(64).optional(),
    ...margin,
  }),
]);

export type CredentialConfig = z.infer<typeof credentialConfig>;
export type Strategy = CredentialConfig["strategy"];
export type ConfigOf<S extends Strategy> = Extract<CredentialConfig, { strategy: S }>;

/** The secrets each strategy needs, by the suffix of their environment variable. */
const SECRET_FIELDS = {
  oauth2_client_credentials: { clientSecret: "CLIENT_SECRET" },
  oauth2_refresh_token: { clientSecret: "CLIENT_SECRET", refreshToken: "REFRESH_TOKEN" },
  tradovate: { password: "PASSWORD", sec: "SEC" },
} as const satisfies Record<Strategy, Record<string, string>>;

type SecretsOf<S extends Strategy> = S extends "oauth2_refresh_token"
  ? { clientSecret?: Secret; refreshToken: Secret }
  : { [K in keyof (typeof SECRET_FIELDS)[S]]: Secret };

export type CredentialDefinition = {
  [S in Strategy]: {
    name: string;
    strategy: S;
    source: "database" | "env";
    config: ConfigOf<S>;
    /** Hosts its secrets and tokens may be sent to: from the environment or code, never from a row. */
    allowedHosts: readonly string[];
    secrets: SecretsOf<S>;
  };
}[Strategy];

/** Tradovate's documented API hosts (REST live and demo, the market-data WebSocket): a tradovate credential may always talk to these. */
export const TRADOVATE_HOSTS = ["live.tradovateapi.com", "demo.tradovateapi.com", "md.tradovateapi.com"] as const;

/**
 * Where a credential's secrets may go. Listed in PEAKWATCH_CREDENTIAL_<NAME>_HOSTS (comma-separated);
 * a credential defined in PEAKWATCH_CREDENTIALS may also use the host of its own URL, since that URL
 * came from the environment too; a tradovate credential may use Tradovate's own hosts. A row of
 * peakwatch.credentials adds nothing: whoever can edit it must not be able to redirect a secret.
 */
export function allowedHostsOf(name: string, config: CredentialConfig, source: "database" | "env", listed: readonly string[]): string[] {
  const hosts = new Set(listed.map((host) => host.toLowerCase()));
  if (source === "env") hosts.add(new URL(config.strategy === "tradovate" ? config.base_url : config.token_url).hostname.toLowerCase());
  if (config.strategy === "tradovate") for (const host of TRADOVATE_HOSTS) hosts.add(host);
  return [...hosts].sort();
}

/** PEAKWATCH_CREDENTIAL_<NAME>_<FIELD>, the name uppercased with - as _. */
export function secretVariable(name: string, field: string): string {
  return `PEAKWATCH_CREDENTIAL_${name.toUpperCase().replaceAll("-", "_")}_${field}`;
}

/** The variables this credential reads its secrets from, by field. */
export function secretVariables(name: string, config: CredentialConfig): Record<string, string> {
  const fields: Record<string, string> = { ...SECRET_FIELDS[config.strategy] };
  if (config.strategy === "oauth2_refresh_token" && config.client_auth === "none") delete fields.clientSecret;
  return Object.fromEntries(Object.entries(fields).map(([field, suffix]) => [field, secretVariable(name, suffix)]));
}

/** Reads the secrets; answers the names of the variables that are unset or empty instead when any is. */
export function readSecrets(
  name: string,
  config: CredentialConfig,
  read: (variable: string) => string | undefined,
): { secrets: Record<string, Secret>; missing: string[] } {
  const secrets: Record<string, Secret> = {};
  const missing: string[] = [];
  for (const [field, variable] of Object.entries(secretVariables(name, config))) {
    const value = read(variable);
    if (value === undefined || value.trim() === "") missing.push(variable);
    else secrets[field] = new Secret(value.trim());
  }
  return { secrets, missing };
}
