import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../supabase/functions/_shared/config/config.ts";
import { databaseConnection, databaseTls } from "../../supabase/functions/_shared/db/connection.ts";

const POOLER = "postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres";
const DIRECT = "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres";
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("database connection settings", () => {
  it("PEAKWATCH_DB_URL (the pooler) wins over the runtime's SUPABASE_DB_URL", () => {
    expect(databaseConnection({ PEAKWATCH_DB_URL: POOLER, SUPABASE_DB_URL: DIRECT }).url).toBe(POOLER);
    expect(databaseConnection({ SUPABASE_DB_URL: DIRECT }).url).toBe(DIRECT);
  });

  it("neither set is a configuration error naming both variables", () => {
    expect(() => databaseConnection({})).toThrow(ConfigError);
    expect(() => databaseConnection({})).toThrow(/PEAKWATCH_DB_URL or SUPABASE_DB_URL/);
  });

  it("TLS is required by default, verified with a CA, off only for loopback or an explicit sslmode=disable", () => {
    expect(databaseTls(POOLER)).toBe("require");
    expect(databaseTls(`${DIRECT}?sslmode=disable`)).toBe(false);
    expect(databaseTls("postgresql://postgres@127.0.0.1:5432/peakwatch")).toBe(false);
    expect(databaseTls("postgresql://postgres@127.0.0.1:5432/peakwatch?sslmode=require")).toBe("require");
    expect(databaseTls(POOLER, PEM)).toEqual({ ca: PEM, rejectUnauthorized: true });
  });

  it("a CA file is read for full verification; an unreadable one is named", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "pw-ca-")), "ca.pem");
    writeFileSync(file, PEM);
    expect(databaseConnection({ PEAKWATCH_DB_URL: POOLER, PEAKWATCH_DB_CA_FILE: file }).ssl).toEqual({ ca: PEM, rejectUnauthorized: true });
    expect(() => databaseConnection({ PEAKWATCH_DB_URL: POOLER, PEAKWATCH_DB_CA_FILE: "/nonexistent/ca.pem" })).toThrow(/PEAKWATCH_DB_CA_FILE/);
  });
});
