import { describe, expect, it } from "vitest";
import { ConfigError } from "../../supabase/functions/_shared/config/config.ts";
import { loadHealthConfig } from "../../supabase/functions/_shared/health/config.ts";
import { grade } from "../../supabase/functions/_shared/health/thresholds.ts";

describe("grade", () => {
  it("a rising reading warns at the warn limit and fails at the fail limit", () => {
    const limits = { warn: 180, fail: 600 };
    expect(grade(179.9, limits, "above")).toBe("pass");
    expect(grade(180, limits, "above")).toBe("warn");
    expect(grade(599, limits, "above")).toBe("warn");
    expect(grade(600, limits, "above")).toBe("fail");
  });

  it("a falling reading warns below the warn limit and fails below the fail limit", () => {
    const limits = { warn: 95, fail: 80 };
    expect(grade(95, limits, "below")).toBe("pass");
    expect(grade(94.9, limits, "below")).toBe("warn");
    expect(grade(80, limits, "below")).toBe("warn");
    expect(grade(79.9, limits, "below")).toBe("fail");
  });

  it("a reading that could not be taken fails; a null limit never trips", () => {
    expect(grade(null, { warn: 1, fail: 2 }, "above")).toBe("fail");
    expect(grade(1e9, { warn: 1, fail: null }, "above")).toBe("warn");
    expect(grade(1e9, { warn: null, fail: null }, "above")).toBe("pass");
  });
});

describe("health config", () => {
  it("has defaults for every check, per watched function", () => {
    const config = loadHealthConfig({});
    expect(config.functions).toEqual(["tracker", "poller", "orchestrator", "token-refresh", "candles"]);
    expect(config.thresholds["tracker:lastSuccessAge"]).toEqual({ warn: 180, fail: 600 });
    expect(config.thresholds["token-refresh:lastSuccessAge"]).toEqual({ warn: 900, fail: 1_800 });
    expect(config.thresholds["queue:dueBacklog"]).toEqual({ warn: 2_000, fail: 20_000 });
    expect(config.thresholds["tokens:freshPercent"]).toEqual({ warn: 95, fail: 80 });
  });

  it("HEALTH_THRESHOLDS overrides one limit by check name and keeps the other", () => {
    const config = loadHealthConfig({ HEALTH_THRESHOLDS: '{"tracker:lastSuccessAge":{"fail":900},"calls:copycatTickers":{"warn":null}}' });
    expect(config.thresholds["tracker:lastSuccessAge"]).toEqual({ warn: 180, fail: 900 });
    expect(config.thresholds["calls:copycatTickers"]).toEqual({ warn: null, fail: null });
  });

  it("refuses an unknown check, swapped limits and JSON that is not JSON, naming the variable", () => {
    expect(() => loadHealthConfig({ HEALTH_THRESHOLDS: '{"tracker:lastSucessAge":{"fail":1}}' })).toThrow(/HEALTH_THRESHOLDS: unknown check "tracker:lastSucessAge"/);
    expect(() => loadHealthConfig({ HEALTH_THRESHOLDS: '{"tokens:freshPercent":{"warn":50,"fail":90}}' })).toThrow(/warn must be at least fail/);
    expect(() => loadHealthConfig({ HEALTH_THRESHOLDS: "{oops" })).toThrow(ConfigError);
    expect(() => loadHealthConfig({ HEALTH_CHECK_TIMEOUT_MS: "soon" })).toThrow(/HEALTH_CHECK_TIMEOUT_MS/);
  });

  it("per-function checks follow HEALTH_FUNCTIONS", () => {
    const config = loadHealthConfig({ HEALTH_FUNCTIONS: "tracker, poller", HEALTH_THRESHOLDS: '{"poller:consecutiveErrors":{"warn":2}}' });
    expect(config.functions).toEqual(["tracker", "poller"]);
    expect(config.thresholds["poller:consecutiveErrors"]).toEqual({ warn: 2, fail: 5 });
    expect(config.thresholds["orchestrator:lastSuccessAge"]).toBeUndefined();
    expect(() => loadHealthConfig({ HEALTH_FUNCTIONS: "tracker", HEALTH_THRESHOLDS: '{"poller:lastSuccessAge":{"warn":1}}' })).toThrow(/unknown check/);
  });
});
