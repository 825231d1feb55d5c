import { WebSocket } from "ws";
import { startTradovateMdStandIn, type TradovateMdStandIn, type TradovateMdStandInOptions } from "../../dev/tradovate-md/server.ts";
import type { TradingCalendar } from "../../supabase/functions/_shared/candles/calendar.ts";
import { cmeGlobexCalendar } from "../../supabase/functions/_shared/candles/cme-calendar.ts";
import type { BarRequest } from "../../supabase/functions/_shared/candles/provider.ts";
import { type Timeframe, timeframeMs } from "../../supabase/functions/_shared/candles/timeframes.ts";
import type { CredentialStoreOptions } from "../../supabase/functions/_shared/credentials/store.ts";
import { egressFromEnv } from "../../supabase/functions/_shared/egress/env.ts";
import { createTradovateBarProvider, type TradovateBarProvider, type TradovateProviderOptions } from "../../supabase/functions/_shared/providers/tradovate-md/provider.ts";
import type { OpenSocket, SocketLike } from "../../supabase/functions/_shared/providers/tradovate-md/session.ts";
import type { CredentialsFixture } from "./credentials.ts";

/** Node 20 has no global WebSocket: `ws` speaks the same event API. */
export const wsSocket: OpenSocket = (url) => new WebSocket(url) as unknown as SocketLike;

/** Loopback stand-ins are allowed in local dev only, as in `npm start`. */
export const localEgress = () => egressFromEnv({ PEAKWATCH_LOCAL_DEV: "1" });

export const cme: TradingCalendar = cmeGlobexCalendar([]);

export async function mdStandIn(fx: CredentialsFixture, options: Partial<TradovateMdStandInOptions> = {}): Promise<TradovateMdStandIn> {
  return await startTradovateMdStandIn({ auth: fx.tradovate, seed: 18, historyDays: 3, clientTimeoutMs: 10_000, ...options });
}

/** A provider as one isolate of the candles function would build it, against the stand-ins. */
export function provider(
  fx: CredentialsFixture,
  md: TradovateMdStandIn,
  options: Partial<TradovateProviderOptions> & { storeOptions?: Partial<CredentialStoreOptions> } = {},
): TradovateBarProvider {
  const { storeOptions, ...rest } = options;
  return createTradovateBarProvider({
    credential: "tv",
    store: fx.store({ egress: localEgress(), ...storeOptions }),
    restBaseUrl: fx.tradovate.url,
    mdUrl: md.url,
    redis: fx.redis,
    keyPrefix: fx.keyPrefix,
    calendar: cme,
    openSocket: wsSocket,
    egress: localEgress(),
    lockWaitMs: 30_000,
    sessionIdleMs: 0,
    ...rest,
  });
}

/** The newest window of `bars` closed buckets that the session calendar has open: exists whatever the wall clock says. */
export function closedWindow(symbol: string, timeframe: Timeframe, bars: number, streamId = 1, now = new Date()): BarRequest {
  const last = cme.lastClosedBucket(timeframe, now)!;
  const size = timeframeMs(timeframe);
  const expected = cme.expectedBuckets(timeframe, new Date(last.getTime() - 3 * 86_400_000), new Date(last.getTime() + size));
  const from = expected.at(-bars)!;
  return { streamId, symbol, network: null, tokenSide: null, timeframe, from, to: new Date(last.getTime() + size), limit: 1000 };
}
