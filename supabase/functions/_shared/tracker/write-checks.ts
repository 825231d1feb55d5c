import type { Sql } from "../db/client.ts";
import type { Failure } from "../queue/fail.ts";
import { type Check, recordChecks } from "./record-checks.ts";
import { storableCheck } from "./storable-check.ts";

export interface Written {
  held: Array<{ token_id: number; status: string }>;
  /** Checks that cannot be stored: each becomes an attempt of its token (dead-letter after N). */
  poison: Failure[];
}

/** A data error (class 22) or constraint violation (class 23): the input, not the database, is at fault. */
const isDataError = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
};

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 300);

/**
 * Writes a batch's checks so that no item holds up its neighbours: checks are sanitized first,
 * those still unstorable are poison; should Postgres refuse a batch for its data anyway, the batch
 * is halved until the refused check stands alone (log2 n extra round trips, only on that path).
 */
export async function writeChecks(sql: Sql, worker: string, checks: readonly Check[], deadAfterMisses: number): Promise<Written> {
  const poison: Failure[] = [];
  const clean: Check[] = [];
  for (const check of checks) {
    const storable = storableCheck(check);
    if ("poison" in storable) poison.push({ tokenId: check.token_id, error: `poison: ${storable.poison}` });
    else clean.push(storable.check);
  }
  const held = await writeSplitting(sql, worker, clean, deadAfterMisses, poison);
  return { held, poison };
}

async function writeSplitting(sql: Sql, worker: string, checks: Check[], deadAfterMisses: number, poison: Failure[]): Promise<Written["held"]> {
  if (checks.length === 0) return [];
  try {
    return await recordChecks(sql, worker, checks, deadAfterMisses);
  } catch (error) {
    if (!isDataError(error)) throw error;
    if (checks.length === 1) {
      poison.push({ tokenId: checks[0]!.token_id, error: `poison: refused by Postgres: ${describe(error)}` });
      return [];
    }
    const half = Math.ceil(checks.length / 2);
    return [
      ...(await writeSplitting(sql, worker, checks.slice(0, half), deadAfterMisses, poison)),
      ...(await writeSplitting(sql, worker, checks.slice(half), deadAfterMisses, poison)),
    ];
  }
}
