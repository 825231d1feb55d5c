import { readFileSync } from "node:fs";
import { ConfigError, type SharedEnv } from "../config/config.ts";

export type DatabaseTls = false | "require" | { ca: string; rejectUnauthorized: true };

export interface DatabaseConnection {
  url: string;
  ssl: DatabaseTls;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * TLS for a database URL: the URL's own `sslmode` wins; with a CA (file or PEM) the certificate is
 * verified; otherwise `require` (encrypted) — except on loopback, where the local stack's Postgres
 * has no TLS and there is no network to protect.
 */
export function databaseTls(url: string, ca?: string): DatabaseTls {
  if (ca) return { ca, rejectUnauthorized: true };
  const parsed = new URL(url);
  const mode = parsed.searchParams.get("sslmode");
  if (mode === "disable") return false;
  if (mode === null && (LOOPBACK.has(parsed.hostname) || parsed.hostname === "")) return false;
  return "require";
}

/** PEAKWATCH_DB_URL (the transaction pooler, port 6543) first, then the runtime's SUPABASE_DB_URL. */
export function databaseConnection(env: Pick<SharedEnv, "PEAKWATCH_DB_URL" | "SUPABASE_DB_URL" | "PEAKWATCH_DB_CA_FILE" | "PEAKWATCH_DB_CA_CERT">): DatabaseConnection {
  const url = env.PEAKWATCH_DB_URL ?? env.SUPABASE_DB_URL;
  if (!url) throw new ConfigError("environment: PEAKWATCH_DB_URL or SUPABASE_DB_URL: is required (a postgres:// URL)");
  let ca = env.PEAKWATCH_DB_CA_CERT;
  if (!ca && env.PEAKWATCH_DB_CA_FILE) {
    try {
      ca = readFileSync(env.PEAKWATCH_DB_CA_FILE, "utf8");
    } catch {
      throw new ConfigError("environment: PEAKWATCH_DB_CA_FILE: cannot be read");
    }
  }
  return { url, ssl: databaseTls(url, ca) };
}
