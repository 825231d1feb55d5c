import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MarketSimulator, startMarketSimulator } from "../../dev/market-sim/server.ts";

const EPOCH = Date.UTC(2026, 10, 1);
let sim: MarketSimulator;

beforeAll(async () => {
  sim = await startMarketSimulator({ seed: 3, now: () => EPOCH, feed: { everyMs: 0 } });
});
afterAll(async () => {
  await sim.close();
});

const get = async (query: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${sim.feedUrl}${query}`, { headers });
  return { status: response.status, body: await response.json() };
};
const admin = (path: string, body: unknown) => fetch(`${sim.url}/__sim/${path}`, { method: "POST", body: JSON.stringify(body) });

describe("market simulator: call feed", () => {
  it("admin-added calls get the feed's ids and page by since_id with next_cursor and has_more", async () => {
    const added = await admin("feed/calls", { calls: [1, 2, 3].map((n) => ({ chain: "solana", token_address: `mint${n}`, called_at: new Date(EPOCH + n * 1000).toISOString() })) });
    expect(await added.json()).toEqual({ ids: [1, 2, 3] });
    expect(await get("?limit=2")).toEqual({ status: 200, body: { calls: [expect.objectContaining({ id: 1 }), expect.objectContaining({ id: 2 })], next_cursor: "2", has_more: true } });
    expect((await get("?since_id=2&limit=2")).body).toMatchObject({ calls: [{ id: 3, token_address: "mint3" }], next_cursor: "3", has_more: false });
    expect((await get("?since_id=3")).body).toEqual({ calls: [], next_cursor: "3", has_more: false });
    expect((await get(`?since=${new Date(EPOCH + 2000).toISOString()}`)).body).toMatchObject({ calls: [{ id: 2 }, { id: 3 }], next_cursor: new Date(EPOCH + 3000).toISOString() });
    expect((await get("?since_id=abc")).status).toBe(400);
  });

  it("with a token set, the feed answers 401 without the right bearer", async () => {
    expect((await admin("feed", { token: "abc" })).status).toBe(200);
    expect((await get("")).status).toBe(401);
    expect((await get("", { authorization: "Bearer nope" })).status).toBe(401);
    expect((await get("", { authorization: "Bearer abc" })).status).toBe(200);
    await admin("feed", { token: null });
  });

  it("cursor_backwards answers from an earlier point with a next cursor behind the one asked for", async () => {
    expect((await admin("faults", { provider: "feed", kind: "cursor_backwards" })).status).toBe(200);
    const { body } = await get("?since_id=3");
    expect(body.calls.map((c: { id: number }) => c.id)).toEqual([1, 2, 3]);
    expect(body.next_cursor).toBe("2");
    expect((await admin("faults", { provider: "dexscreener", kind: "cursor_backwards" })).status).toBe(400);
    await admin("faults", { provider: "feed", kind: "none" });
  });

  it("generates a call a simulated minute once a cadence is set, from tokens listed at that time", async () => {
    await admin("feed", { everyMs: 60_000 });
    sim.advance(3 * 60_000);
    const { body } = await get("?since_id=3");
    expect(body.calls).toHaveLength(3);
    for (const call of body.calls) {
      expect(sim.tokens().some((t) => t.address === call.token_address && t.symbol === call.symbol)).toBe(true);
      expect(call.price_usd).toBeGreaterThan(0);
    }
  });
});
