import postgres from "postgres";
import type { DatabaseTls } from "./connection.ts";

export type Sql = postgres.Sql;

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;

/**
 * A small pool meant to be created once per isolate. `prepare: false` keeps it usable behind the
 * Supavisor transaction pooler (port 6543). Values come back in the shapes `supabase gen types`
 * declares: bigint and numeric as numbers, timestamps as strings.
 */
export function createSql(url: string, options: { max?: number; applicationName?: string; ssl?: DatabaseTls } = {}): Sql {
  return postgres(url, {
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    max: options.max ?? 3,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "peakwatch" },
    types: {
      int8: { to: INT8, from: [INT8], serialize: (value: number) => String(value), parse: (value: string) => Number(value) },
      numeric: { to: NUMERIC, from: [NUMERIC], serialize: (value: number) => String(value), parse: (value: string) => Number(value) },
      timestamps: { to: TIMESTAMPTZ, from: [TIMESTAMPTZ, TIMESTAMP], serialize: (value: string) => value, parse: (value: string) => value },
    },
  });
}
