import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frontMonth, resolveContract } from "../../supabase/functions/_shared/providers/tradovate-md/contracts.ts";
import { chartBar, encodeRequest, FrameError, parseFrame, readChartEvent } from "../../supabase/functions/_shared/providers/tradovate-md/frames.ts";
import { allowedHostsOf } from "../../supabase/functions/_shared/credentials/definitions.ts";
import { transportEgress } from "../../supabase/functions/_shared/egress/fetch.ts";
import { createEgressPolicy, DEFAULT_MAX_BYTES } from "../../supabase/functions/_shared/egress/policy.ts";
import { staticResolver } from "../../supabase/functions/_shared/egress/resolver.ts";
import { loadFixture } from "../helpers/fixtures.ts";
import { fuzzed } from "../helpers/fuzz.ts";

const frames = readFileSync(new URL("../fixtures/tradovate/md-frames.txt", import.meta.url), "utf8").trim().split("\n");

describe("Tradovate market-data frames", () => {
  it("reads open, heartbeat, messages and close frames", () => {
    expect(parseFrame(frames[0]!)).toEqual({ type: "open" });
    expect(parseFrame(frames[1]!)).toEqual({ type: "heartbeat" });
    expect(parseFrame(frames[2]!)).toEqual({ type: "messages", messages: [{ kind: "response", response: { i: 0, s: 200 } }] });
    expect(parseFrame(frames[3]!)).toEqual({ type: "messages", messages: [{ kind: "response", response: { i: 0, s: 401, d: "Access is denied" } }] });
    expect(parseFrame(frames[4]!)).toMatchObject({ messages: [{ kind: "response", response: { i: 2, s: 200, d: { historicalId: 32, realtimeId: 31 } } }] });
    expect(parseFrame(frames[6]!)).toEqual({ type: "close", code: 1000, reason: "Connection limit exceeded" });
  });

  it("a chart event yields its bars and the end-of-history mark per subscription id", () => {
    const frame = parseFrame(frames[5]!);
    if (frame.type !== "messages" || frame.messages[0]!.kind !== "event") throw new Error("expected an event");
    const chart = readChartEvent(frame.messages[0]!.event)!;
    expect(chart.rejected).toBe(0);
    expect(chart.packets).toEqual([
      { id: 9, eoh: false, rejected: 0, bars: [{ timestamp: "2026-09-25T14:30:00.000Z", open: 1, high: 2, low: 0.5, close: 1.5, upVolume: 40, downVolume: 60 }] },
      { id: 9, eoh: true, rejected: 0, bars: [] },
    ]);
  });

  it("the documented bar parses; a bar with a renamed field is counted as rejected, not thrown", () => {
    const bar = loadFixture("tradovate/md-chart-bar.json") as Record<string, unknown>;
    expect(chartBar.parse(bar)).toMatchObject({ open: 2334.25, upVolume: 4712, downVolume: 201 });
    const { upVolume, ...rest } = bar;
    const renamed = { ...rest, upVol: upVolume };
    const chart = readChartEvent({ e: "chart", d: { charts: [{ id: 4, bars: [bar, renamed] }] } })!;
    expect(chart.packets[0]!.bars).toHaveLength(1);
    expect(chart.rejected).toBe(1);
    expect(readChartEvent({ e: "md", d: { quotes: [] } })).toBeNull();
  });

  it("requests are endpoint, id, query and body on four lines; authorize sends the token as is", () => {
    expect(encodeRequest("authorize", 0, "md_token")).toBe("authorize\n0\n\nmd_token");
    const body = loadFixture("tradovate/md-getchart-request.json");
    expect(encodeRequest("md/getChart", 3, body)).toBe(`md/getChart\n3\n\n${JSON.stringify(body)}`);
    expect(encodeRequest("md/cancelChart", 4, { subscriptionId: 31 })).toBe('md/cancelChart\n4\n\n{"subscriptionId":31}');
  });

  it("property: any other frame is a FrameError that never quotes the payload", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (text) => {
        const raw = `x${text}secret-token-value`;
        try {
          parseFrame(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(FrameError);
          expect((error as Error).message).not.toContain("secret-token-value");
          return;
        }
        throw new Error("parsed an unknown frame type");
      }),
      fuzzed(1810),
    );
    expect(() => parseFrame("a{not json secret-token-value")).toThrow(FrameError);
    expect(() => parseFrame('a{"i":1}')).toThrow(/does not hold an array/);
  });
});

describe("contract months", () => {
  it("the front month rolls on the second Thursday of the contract month (17:00 CT the evening before)", () => {
    expect(frontMonth("NQ", new Date("2026-12-06T23:00:00Z"))).toMatchObject({ contract: "NQZ6", next: "NQH7" });
    expect(frontMonth("NQ", new Date("2026-12-06T23:00:00Z")).rollAt.toISOString()).toBe("2026-12-09T23:00:00.000Z");
    expect(frontMonth("ES", new Date("2026-12-09T23:00:00Z")).contract).toBe("ESH7");
    // March 2027 rolls before the DST change (CST), June in summer time (CDT).
    expect(frontMonth("MES", new Date("2027-03-01T00:00:00Z")).rollAt.toISOString()).toBe("2027-03-10T23:00:00.000Z");
    expect(frontMonth("MES", new Date("2027-04-01T00:00:00Z"))).toMatchObject({ contract: "MESM7", next: "MESU7" });
    expect(frontMonth("MES", new Date("2027-04-01T00:00:00Z")).rollAt.toISOString()).toBe("2027-06-09T22:00:00.000Z");
    expect(frontMonth("MNQ", new Date("2027-09-30T00:00:00Z")).contract).toBe("MNQZ7");
  });

  it("a configured contract is used as is; a product is confirmed with contract/find, else contract/suggest", async () => {
    const asked: string[] = [];
    const egress = transportEgress(async (input) => {
      const url = new URL(String(input));
      asked.push(`${url.pathname}${url.search}`);
      if (url.pathname.endsWith("/find")) return Response.json(url.searchParams.get("name") === "NQZ6" ? { id: 1, name: "NQZ6" } : null);
      return Response.json([{ id: 7, name: "CLF7" }, { id: 8, name: "CLG7" }]);
    });
    const lookup = { restBaseUrl: "https://demo.tradovateapi.com/v1", accessToken: async () => "t", egress, allowedHosts: [], signal: AbortSignal.timeout(5_000) };
    const now = new Date("2026-12-06T23:00:00Z");
    expect(await resolveContract("NQH7", now, lookup)).toMatchObject({ contract: "NQH7", source: "configured" });
    expect(await resolveContract("NQ", now, lookup)).toMatchObject({ contract: "NQZ6", source: "rule", id: 1, next: "NQH7" });
    expect(await resolveContract("CL", now, lookup)).toMatchObject({ contract: "CLF7", source: "suggest", rollAt: null });
    expect(asked).toEqual(["/v1/contract/find?name=NQZ6", "/v1/contract/suggest?t=CL&l=5"]);
  });
});

describe("the market-data socket under the egress policy", () => {
  const policy = (localDev: boolean) =>
    createEgressPolicy({ localDev, allowPrivateHosts: [], maxBytes: DEFAULT_MAX_BYTES, resolver: staticResolver({}) });
  const socket = { kind: "provider" as const, carriesSecret: true, secretHosts: allowedHostsOf("tv", { strategy: "tradovate", base_url: "https://demo.tradovateapi.com/v1", username: "u", app_id: "a", app_version: "1", cid: 1 }, "env", []), secretName: 'credential "tv" (market data)' };
  const outcome = (url: string, localDev = false) => policy(localDev).check(new URL(url), socket).then(() => "allowed", (error: Error) => error.message);

  it("wss follows https's rules: Tradovate's market-data host is allowed, any other host is refused for the md token", async () => {
    expect(await outcome("wss://md.tradovateapi.com/v1/websocket")).toBe("allowed");
    expect(await outcome("wss://md.example.com/v1/websocket")).toMatch(/refused: credential "tv" \(market data\) may only go to/);
  });

  it("plain ws only to loopback in local dev, like plain http", async () => {
    expect(await outcome("ws://md.tradovateapi.com/v1/websocket")).toMatch(/only https\/wss is allowed/);
    expect(await outcome("ws://127.0.0.1:54333/v1/websocket")).toMatch(/only https\/wss is allowed/);
    expect(await outcome("ws://127.0.0.1:54333/v1/websocket", true)).toBe("allowed");
  });
});
