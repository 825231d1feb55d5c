import type { z } from "zod";
import { SchemaError } from "../providers/types.ts";

export interface ParsedItems<T> {
  items: T[];
  unreadable: number;
  firstIssue: string | null;
}

export function describeIssue(error: z.ZodError, label: (path: PropertyKey[]) => string): string {
  const issue = error.issues[0];
  return issue ? `${label(issue.path)}: ${issue.message}` : label([]);
}

/**
 * Parses every item of a list on its own: the readable ones come back, the others are counted with
 * the first problem. Only a list where nothing at all is readable (a renamed field) is a SchemaError.
 */
export function parseItems<T>(
  what: string,
  raw: readonly unknown[],
  parse: (item: unknown, index: number) => { ok: true; value: T } | { ok: false; issue: string },
): ParsedItems<T> {
  const items: T[] = [];
  let firstIssue: string | null = null;
  raw.forEach((item, index) => {
    const parsed = parse(item, index);
    if (parsed.ok) items.push(parsed.value);
    else firstIssue ??= parsed.issue;
  });
  const unreadable = raw.length - items.length;
  if (raw.length > 0 && items.length === 0) {
    throw new SchemaError(`${what}: all ${unreadable} items failed the schema (${firstIssue})`, unreadable);
  }
  return { items, unreadable, firstIssue };
}

/** Reads `a.b.c` out of a JSON value; undefined when any step is missing. */
export function pick(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** EVM addresses are case-insensitive: one external id per token whatever the casing. */
export function addressKey(address: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(address) ? address.toLowerCase() : address;
}

/** A positive finite price or market cap from a number or a decimal string; anything else is absent. */
export function positiveNumber(value: unknown): number | null {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}
