import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleCandlesRead } from "../../supabase/functions/_shared/candles/read-http.ts";
import { upsertCandles } from "../../supabase/functions/_shared/candles/sql/upsert.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let db: TestDatabase;
let instrumentId: number;
const KEY = "test-service-key-0123456789";
const day = Date.UTC(2026, 10, 20);

beforeAll(async () => {
  db = await createTestDatabase();
  const [instrument] = await db.sql<{ id: number }[]>`
    insert into peakwatch.instruments (provider, network, symbol, token_side) values ('geckoterminal', 'solana', 'pool-read', 'base') returning id`;
  instrumentId = instrument!.id;
  const [stream] = await db.sql<{ id: number }[]>`insert into peakwatch.candle_streams (instrument_id, timeframe) values (${instrumentId}, '15m') returning id`;
  const bars = Array.from({ length: 200 }, (_, i) => ({ bucket: new Date(day + i * 900_000), open: 1 + i, high: 2 + i, low: i, close: 1.5 + i, volume: 10 * i, synthetic: i % 50 === 7 }));
  await upsertCandles(db.sql, stream!.id, bars, "test");
});
afterAll(async () => {
  await db.drop();
});

const get = (query: string, key: string | null = KEY) =>
  handleCandlesRead(new Request(`http://localhost/functions/v1/candles?${query}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} }), { sql: db.sql, keys: [KEY] });

describe("GET candles", () => {
  it("answers 24 h of 15m bars as JSON, oldest first, from inclusive and to exclusive", async () => {
    const from = new Date(day).toISOString();
    const to = new Date(day + 86_400_000).toISOString();
    const response = await get(`instrument=${instrumentId}&timeframe=15m&from=${from}&to=${to}`);
    expect(response.status).toBe(200);
    const body = await response.json() as { instrument: { symbol: string }; bars: { bucket: string; open: number; synthetic: boolean }[] };
    expect(body.instrument).toMatchObject({ id: instrumentId, symbol: "pool-read", calendar: "always" });
    expect(body.bars).toHaveLength(96);
    expect(body.bars[0]).toEqual({ bucket: from, open: 1, high: 2, low: 0, close: 1.5, volume: 0, synthetic: false });
    expect(body.bars[7]!.synthetic).toBe(true);
    expect(body.bars.at(-1)!.bucket).toBe(new Date(day + 95 * 900_000).toISOString());
  });

  it("refuses a bad query with 400 naming each parameter's path and message", async () => {
    const response = await get(`instrument=x&timeframe=30s&from=yesterday&to=2026-11-20T00:00:00Z&extra=1`);
    expect(response.status).toBe(400);
    const body = await response.json() as { error: { code: string; issues: { path: string; message: string }[] } };
    expect(body.error.code).toBe("bad_request");
    expect(body.error.issues.map((issue) => issue.path).sort()).toEqual(["(query)", "from", "instrument", "timeframe"]);
    expect(body.error.issues.every((issue) => issue.message.length > 0)).toBe(true);
  });

  it("bounds the range: to after from, and at most 10000 bars", async () => {
    const tooWide = await get(`instrument=${instrumentId}&timeframe=1m&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z`);
    expect(tooWide.status).toBe(400);
    expect(await tooWide.json()).toMatchObject({ error: { issues: [{ path: "to", message: expect.stringContaining("at most 10000 1m bars") }] } });
    const backwards = await get(`instrument=${instrumentId}&timeframe=1h&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`);
    expect(await backwards.json()).toMatchObject({ error: { issues: [{ path: "to", message: "must be after from" }] } });
  });

  it("needs the service key, answers 404 for an unknown instrument and 405 for other methods", async () => {
    const query = `instrument=${instrumentId}&timeframe=1h&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z`;
    expect((await get(query, null)).status).toBe(401);
    expect((await get(query, "wrong-key-wrong-key-wrong")).status).toBe(401);
    expect((await get(query.replace(`instrument=${instrumentId}`, "instrument=999999"))).status).toBe(404);
    const post = await handleCandlesRead(new Request("http://localhost/?", { method: "POST", headers: { Authorization: `Bearer ${KEY}` } }), { sql: db.sql, keys: [KEY] });
    expect(post.status).toBe(405);
  });
});
