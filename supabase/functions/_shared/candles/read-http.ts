import { z } from "zod";
import type { Sql } from "../db/client.ts";
import { requireServiceKey } from "../http/auth.ts";
import { issuesOf } from "../http/body.ts";
import { badRequest, errorResponse, json, methodNotAllowed, notFound } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import { READ_MAX_BARS, readCandles } from "./sql/read.ts";
import { timeframeMs, timeframeSchema } from "./timeframes.ts";

export interface CandlesReadDeps {
  sql: Sql;
  /** Keys accepted for the read (the service key, secret keys, the function secret). */
  keys: readonly string[];
}

const instant = z.iso.datetime({ offset: true }).transform((text) => new Date(text));

/** `GET ?instrument=1&timeframe=15m&from=…&to=…`: bars with from <= bucket < to, at most READ_MAX_BARS of them. */
export const candlesQuery = z
  .strictObject({
    instrument: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    timeframe: timeframeSchema,
    from: instant,
    to: instant,
  })
  .superRefine((query, ctx) => {
    const span = query.to.getTime() - query.from.getTime();
    if (span <= 0) ctx.addIssue({ code: "custom", path: ["to"], message: "must be after from" });
    else if (span / timeframeMs(query.timeframe) > READ_MAX_BARS) {
      ctx.addIssue({ code: "custom", path: ["to"], message: `at most ${READ_MAX_BARS} ${query.timeframe} bars per read; narrow from..to` });
    }
  });

interface InstrumentRow {
  id: number;
  provider: string;
  network: string | null;
  symbol: string;
  token_side: string | null;
  calendar: string;
}

/**
 * The HTTP read of the candle store (the `candles` function routes GET here): service key, the
 * query parsed with zod (a 400 lists each bad parameter's path and message), one index range read.
 * Always answers a Response, so it works behind `endpoint()` and on its own.
 */
export async function handleCandlesRead(request: Request, deps: CandlesReadDeps): Promise<Response> {
  try {
    if (request.method !== "GET") throw methodNotAllowed(["GET"]);
    requireServiceKey(request, deps.keys);
    const parsed = candlesQuery.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) {
      const issues = issuesOf(parsed.error).map((issue) => (issue.path === "(body)" ? { ...issue, path: "(query)" } : issue));
      throw badRequest(`invalid query: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
    }
    const { instrument, timeframe, from, to } = parsed.data;
    const [found] = await deps.sql<InstrumentRow[]>`
      select i.id, i.provider, i.network, i.symbol, i.token_side, i.calendar from peakwatch.instruments i where i.id = ${instrument}`;
    if (!found) throw notFound(`no instrument ${instrument}`);
    const bars = await readCandles(deps.sql, instrument, timeframe, from, to);
    return json({
      instrument: { id: found.id, provider: found.provider, network: found.network, symbol: found.symbol, tokenSide: found.token_side, calendar: found.calendar },
      timeframe,
      from: from.toISOString(),
      to: to.toISOString(),
      bars: bars.map((bar) => ({ ...bar, bucket: bar.bucket.toISOString() })),
    });
  } catch (error) {
    const response = errorResponse(error);
    if (response.status >= 500) logEvent("candles.read_error", { status: response.status, error: error instanceof Error ? error.name : "unknown" }, "error");
    return response;
  }
}
