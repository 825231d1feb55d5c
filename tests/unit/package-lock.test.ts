import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingPlatformEntries } from "../../dev/fix-lock.ts";

describe("package-lock.json", () => {
  it("lists every optional platform package of the Supabase CLI and of deno, so `npm ci` accepts it", () => {
    const lock = JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8"));
    expect(lock.packages["node_modules/supabase"]).toBeDefined();
    expect(missingPlatformEntries(lock), "run `npm run lock:fix` after npm install").toEqual([]);
  });
});
