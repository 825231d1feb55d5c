import { z } from "zod";
import type { Query } from "./alert-state.ts";
import type { Notification } from "./message.ts";

export interface AthSettings {
  /** ATH / entry price at which a call is first announced (2 = +100 %). */
  minMultiple: number;
  /** Announced again each time the multiple has grown by this much since the last announcement. */
  step: number;
  /** Only calls whose ATH was set this recently are looked at (an index range on calls.ath_at). */
  windowSeconds: number;
}

const athRow = z.object({
  call_id: z.number(),
  ticker: z.string().nullable(),
  chain: z.string(),
  address: z.string(),
  source: z.string(),
  group_name: z.string().nullable(),
  multiple: z.number(),
  ath_market_cap_usd: z.number().nullable(),
  ath_at: z.string(),
});

export interface AthAlert {
  callId: number;
  /** The level announced: minMultiple + k·step, the highest one the ATH has reached. */
  level: number;
  line: string;
}

const LIMIT = 50;

/** The level a multiple has reached: the highest minMultiple + k·step not above it. */
export const athLevel = (multiple: number, settings: Pick<AthSettings, "minMultiple" | "step">): number =>
  settings.minMultiple + Math.floor((multiple - settings.minMultiple) / settings.step + 1e-9) * settings.step;

const money = (usd: number) => usd >= 1e6 ? `$${(usd / 1e6).toFixed(2)}M` : usd >= 1e3 ? `$${(usd / 1e3).toFixed(1)}k` : `$${usd.toFixed(0)}`;

/** Calls whose ATH multiple since the call has reached a level not yet announced. */
export async function pendingAthAlerts(sql: Query, settings: AthSettings): Promise<AthAlert[]> {
  const rows = z.array(athRow).parse(
    await sql`
      select k.id as call_id, coalesce(k.ticker, t.symbol) as ticker, t.chain, t.address, s.name as source, k.group_name,
             (k.ath_price_usd / k.entry_price_usd)::float8 as multiple, k.ath_market_cap_usd, k.ath_at::text as ath_at
      from peakwatch.calls k
      join peakwatch.tokens t on t.id = k.token_id
      join peakwatch.sources s on s.id = k.source_id
      left join peakwatch.ath_notifications n on n.call_id = k.id
      where k.ath_at >= now() - make_interval(secs => ${settings.windowSeconds})
        and k.entry_price_usd > 0
        and k.ath_price_usd >= k.entry_price_usd * ${settings.minMultiple}::numeric
        and (n.multiple is null or k.ath_price_usd >= k.entry_price_usd * (n.multiple + ${settings.step}::numeric))
      order by k.ath_at desc
      limit ${LIMIT}`,
  );
  return rows.map((row) => {
    const level = athLevel(row.multiple, settings);
    const who = row.group_name ? `${row.source} / ${row.group_name}` : row.source;
    const cap = row.ath_market_cap_usd ? `, ATH market cap ${money(row.ath_market_cap_usd)}` : "";
    return {
      callId: row.call_id,
      level,
      line: `${row.ticker ?? "?"} (${row.chain}:${row.address}) called by ${who}: ${row.multiple.toFixed(2)}x since the call${cap}`,
    };
  });
}

export function athNotification(alerts: readonly AthAlert[], time: string): Notification {
  const best = Math.max(...alerts.map((a) => a.level));
  return {
    kind: "ath",
    severity: "info",
    title: alerts.length === 1 ? `New ATH: ${best}x since the call` : `${alerts.length} calls at new highs (up to ${best}x)`,
    lines: alerts.map((a) => a.line),
    time,
  };
}

/** Remembers the levels announced, so the next evaluation (or a restarted isolate) skips them. */
export async function recordAthAlerts(sql: Query, alerts: readonly AthAlert[]): Promise<void> {
  if (alerts.length === 0) return;
  await sql`
    insert into peakwatch.ath_notifications as n (call_id, multiple, notified_at)
    select u.call_id, u.multiple, now()
    from unnest(${alerts.map((a) => a.callId)}::bigint[], ${alerts.map((a) => a.level)}::float8[]) as u(call_id, multiple)
    on conflict (call_id) do update set multiple = greatest(n.multiple, excluded.multiple), notified_at = excluded.notified_at`;
}
