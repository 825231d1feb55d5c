import { describe, expect, it } from "vitest";
import { acceptedKeys, hasServiceKey, outgoingKeyHeaders, requireServiceKey } from "../../supabase/functions/_shared/http/auth.ts";

const LEGACY = "legacy-service-role-jwt-0123456789";
const SECRET = "sb_secret_0123456789abcdefghij";
const env = (vars: Record<string, string>) => (name: string) => vars[name];
const request = (headers: Record<string, string>) => new Request("http://localhost/fn", { method: "POST", headers });

describe("service keys", () => {
  it("a project with only the legacy key: accepted, and outgoing calls send it as Bearer (and apikey)", () => {
    const read = env({ SUPABASE_SERVICE_ROLE_KEY: LEGACY });
    expect(acceptedKeys(read)).toEqual([LEGACY]);
    expect(outgoingKeyHeaders(read)).toEqual({ Authorization: `Bearer ${LEGACY}`, apikey: LEGACY });
  });

  it("a project with new secret keys: outgoing calls send the default secret key in apikey only, never as Bearer", () => {
    const read = env({ SUPABASE_SECRET_KEYS: JSON.stringify({ other: "sb_secret_other_0123456789", default: SECRET }), SUPABASE_SERVICE_ROLE_KEY: LEGACY });
    expect(outgoingKeyHeaders(read)).toEqual({ apikey: SECRET });
  });

  it("a legacy key left in the environment of a project with secret keys is refused unless the setting accepts it", () => {
    const vars = { SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET }), SUPABASE_SERVICE_ROLE_KEY: LEGACY };
    expect(acceptedKeys(env(vars))).toEqual([SECRET]);
    expect(acceptedKeys(env({ ...vars, PEAKWATCH_ACCEPT_LEGACY_SERVICE_ROLE_KEY: "true" }))).toEqual([SECRET, LEGACY]);
    expect(acceptedKeys(env({ SUPABASE_SERVICE_ROLE_KEY: LEGACY, PEAKWATCH_ACCEPT_LEGACY_SERVICE_ROLE_KEY: "false" }))).toEqual([]);
  });

  it("functions accept a key in either header, and refuse a wrong one in both", () => {
    const keys = [SECRET];
    expect(() => requireServiceKey(request({ apikey: SECRET }), keys)).not.toThrow();
    expect(() => requireServiceKey(request({ Authorization: `Bearer ${SECRET}` }), keys)).not.toThrow();
    // supabase-js sends the anon key as Bearer next to the apikey header; either matching is enough.
    expect(() => requireServiceKey(request({ Authorization: "Bearer some-anon-key-0123456789", apikey: SECRET }), keys)).not.toThrow();
    expect(() => requireServiceKey(request({ Authorization: "Bearer wrong-key-0123456789", apikey: "wrong-too-0123456789" }), keys)).toThrow(/service key/);
    expect(hasServiceKey(request({ apikey: SECRET }), [])).toBe(false);
  });

  it("no configured key fails closed with 503 naming the variables", () => {
    expect(() => requireServiceKey(request({ apikey: SECRET }), [])).toThrow(/SUPABASE_SECRET_KEYS/);
  });
});
