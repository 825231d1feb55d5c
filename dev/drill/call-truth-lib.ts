import type { Sql } from "../../supabase/functions/_shared/db/client.ts";
import type { SimToken } from "../market-sim/universe.ts";

const MINUTE = 60_000;

export interface MinuteBar {
  bucket: number;
  open: number;
  high: number;
  close: number;
}

/**
 * Every 1-minute bar of a pool in [from, to), read from the simulator's OHLCV endpoint page by page:
 * the truth the verifier's coarse-to-fine narrowing is measured against.
 */
export async function minuteTruth(geckoUrl: string, network: string, pool: string, token: string, from: number, to: number): Promise<MinuteBar[]> {
  const bars: MinuteBar[] = [];
  let before = to;
  while (before > from) {
    const url = `${geckoUrl}/networks/${network}/pools/${pool}/ohlcv/minute?aggregate=1&limit=1000&currency=usd&include_empty_intervals=true` +
      `&token=${token}&before_timestamp=${Math.floor(before / 1000)}`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`truth read ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { data: { attributes: { ohlcv_list: number[][] } } };
    const rows = body.data.attributes.ohlcv_list;
    for (const [ts, open, high, , close] of rows) {
      const bucket = (ts as number) * 1000;
      if (bucket >= from && bucket < to) bars.push({ bucket, open: open as number, high: high as number, close: close as number });
    }
    const oldest = rows.length > 0 ? (rows[rows.length - 1]![0] as number) * 1000 : null;
    if (oldest === null || rows.length < 1000) break;
    before = oldest;
  }
  return bars.sort((a, b) => a.bucket - b.bucket);
}

export function tradeableTruth(bars: MinuteBar[], from: number, to: number): { tradeable: number; wick: number } | null {
  let tradeable = 0;
  let wick = 0;
  for (const bar of bars) {
    if (bar.bucket < from || bar.bucket >= to) continue;
    tradeable = Math.max(tradeable, bar.open, bar.close);
    wick = Math.max(wick, bar.high);
  }
  return tradeable > 0 ? { tradeable, wick } : null;
}

/** The close of the last minute that had ended by `calledAt`: the entry a candle system can know. */
export function entryTruth(bars: MinuteBar[], calledAt: number): number | null {
  let best: MinuteBar | null = null;
  for (const bar of bars) if (bar.bucket + MINUTE <= calledAt && (!best || bar.bucket > best.bucket)) best = bar;
  return best?.close ?? null;
}

/** Tokens the verifier can price: a pool of their own, listed since before the history starts. */
export function verifiableTokens(tokens: SimToken[]): SimToken[] {
  return tokens.filter((t) => t.pairs.length > 0 && t.listAtMs <= 0 && ["steady", "pump", "rug", "graduated", "curve"].includes(t.kind));
}

/** Tokens and calls written as the poller and tracker would leave them: a chosen pool, a call time. */
export async function seedCalls(sql: Sql, calls: Array<{ token: SimToken; calledAt: number; externalId: string }>): Promise<void> {
  const [source] = await sql<{ id: number }[]>`
    insert into peakwatch.sources (name, kind, config) values ('call-truth-drill', 'http_feed', '{"url":"http://127.0.0.1:1/feed"}')
    on conflict (name) do update set name = excluded.name returning id`;
  const tokens = [...new Map(calls.map((c) => [c.token.address, c.token])).values()];
  await sql`
    insert into peakwatch.tokens (chain, address, pair_address, dex_id, status)
    select * from jsonb_to_recordset(${sql.json(tokens.map((t) => ({ chain: t.chain, address: t.address, pair_address: t.pairs[0]!.pairAddress, dex_id: t.pairs[0]!.dexId, status: "active" })) as never)})
      as x(chain text, address text, pair_address text, dex_id text, status text)
    on conflict (chain, address) do nothing`;
  await sql`
    insert into peakwatch.calls (source_id, external_id, token_id, ticker, called_at)
    select ${source!.id}, x.external_id, t.id, t.symbol, x.called_at
    from jsonb_to_recordset(${sql.json(calls.map((c) => ({ external_id: c.externalId, chain: c.token.chain, address: c.token.address, called_at: new Date(c.calledAt).toISOString() })) as never)})
      as x(external_id text, chain text, address text, called_at timestamptz)
    join peakwatch.tokens t on t.chain = x.chain and lower(t.address) = lower(x.address)
    on conflict do nothing`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
