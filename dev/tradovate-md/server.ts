/**
 * A local stand-in for Tradovate's market-data WebSocket (wss://md.tradovateapi.com/v1/websocket),
 * speaking its frames: `o` on connect, `h` server heartbeats, `a[...]` messages, `c[code,"reason"]`
 * before the server closes. Requests are `endpoint\nid\nquery\nbody`:
 *   authorize (body: the mdAccessToken, checked against the auth stand-in) → {i, s: 200} | {i, s: 401, d}
 *   md/getChart {symbol, chartDescription, timeRange} → {i, s: 200, d: {historicalId, realtimeId}}, then
 *     `chart` events: bars of historicalId, then {id: historicalId, eoh: true}; after that the forming bar
 *     under realtimeId every second until md/cancelChart
 *   md/cancelChart {subscriptionId} → {i, s: 200}
 * Limits as Tradovate documents them: a connection needs a client heartbeat (`[]`, every 2.5 s; dropped
 * after `clientTimeoutMs` of silence), and a user over the connection limit loses the oldest
 * connection, whose token is revoked. Bars come from a seeded walk on the real clock that follows
 * the CME Globex calendar.
 *
 * Admin (HTTP on the same port): GET /__admin/stats · POST /__admin/faults
 *   {kind: "drop_mid_chart"|"slow_eoh"|"refuse_chart"|"none", count?, delayMs?}
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { z } from "zod";
import { cmeGlobexCalendar, type MarketHoliday } from "../../supabase/functions/_shared/candles/cme-calendar.ts";
import type { MdTokenInfo } from "../auth-stand-ins/tradovate-server.ts";
import { FaultQueue, json, readText } from "../auth-stand-ins/http.ts";
import { createWalk, underlyingOf } from "./walk.ts";

export interface TradovateMdStandInOptions {
  port?: number;
  host?: string;
  /** Whose md tokens are valid (the Tradovate auth stand-in's `mdToken`). */
  auth: { mdToken(token: string): MdTokenInfo | null; revokeMdToken?(token: string): void };
  seed?: number;
  holidays?: MarketHoliday[];
  /** How far back the walk serves bars. */
  historyDays?: number;
  /** Connections per user before the oldest is closed (Tradovate's default is larger; peakwatch wants one). */
  maxConnectionsPerUser?: number;
  clientTimeoutMs?: number;
  serverHeartbeatMs?: number;
  emptyMinuteRate?: number;
  /** Bars per chart packet. */
  packetBars?: number;
}

type FaultKind = "drop_mid_chart" | "slow_eoh" | "refuse_chart";

export interface TradovateMdStats {
  connections: number;
  authorized: number;
  unauthorized: number;
  /** Most authorized connections one user held at once. */
  peakConnectionsPerUser: number;
  /** Connections closed because their user went over the limit. */
  evicted: number;
  droppedByFault: number;
  droppedForSilence: number;
  closedForExpiredToken: number;
  charts: number;
  barsSent: number;
  cancels: { realtime: number; historical: number; unknown: number };
  clientHeartbeats: number;
  requestsBeforeAuthorize: number;
  /** Requests per endpoint. */
  requests: Record<string, number>;
}

export interface TradovateMdStandIn {
  /** ws://…/v1/websocket */
  url: string;
  stats(): TradovateMdStats;
  setFault(kind: FaultKind | "none", options?: { count?: number; delayMs?: number }): void;
  /** Closes every open connection without a close frame (a network drop). */
  dropAll(): void;
  close(): Promise<void>;
}

const faultBody = z.object({ kind: z.enum(["drop_mid_chart", "slow_eoh", "refuse_chart", "none"]), count: z.int().min(1).optional(), delayMs: z.int().min(0).max(600_000).optional() });
const getChartBody = z.object({
  symbol: z.union([z.string(), z.number()]),
  chartDescription: z.object({ underlyingType: z.enum(["MinuteBar", "DailyBar", "Tick", "Custom", "DOM"]), elementSize: z.int().min(1), elementSizeUnit: z.string() }),
  timeRange: z.object({ closestTimestamp: z.string().optional(), asFarAsTimestamp: z.string().optional(), asMuchAsElements: z.int().min(1).optional() }),
});

interface Connection {
  socket: WebSocket;
  user: MdTokenInfo | null;
  token: string | null;
  lastClientFrame: number;
  subscriptions: Map<number, { kind: "historical" | "realtime"; timer?: ReturnType<typeof setInterval> }>;
}

export async function startTradovateMdStandIn(options: TradovateMdStandInOptions): Promise<TradovateMdStandIn> {
  const calendar = cmeGlobexCalendar(options.holidays ?? []);
  const walk = createWalk({ seed: options.seed ?? 18, calendar, historyDays: options.historyDays ?? 14, emptyMinuteRate: options.emptyMinuteRate });
  const maxPerUser = options.maxConnectionsPerUser ?? 1;
  const clientTimeoutMs = options.clientTimeoutMs ?? 10_000;
  const packetBars = options.packetBars ?? 100;
  const faults = new FaultQueue<FaultKind>();
  const connections = new Set<Connection>();
  let nextSubscription = 100;
  const stats: TradovateMdStats = {
    connections: 0,
    authorized: 0,
    unauthorized: 0,
    peakConnectionsPerUser: 0,
    evicted: 0,
    droppedByFault: 0,
    droppedForSilence: 0,
    closedForExpiredToken: 0,
    charts: 0,
    barsSent: 0,
    cancels: { realtime: 0, historical: 0, unknown: 0 },
    clientHeartbeats: 0,
    requestsBeforeAuthorize: 0,
    requests: {},
  };

  const frame = (conn: Connection, messages: unknown[]) => {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(`a${JSON.stringify(messages)}`);
  };
  const end = (conn: Connection, code: number, reason: string) => {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(`c${JSON.stringify([code, reason])}`);
    conn.socket.close();
  };
  const userConnections = (userId: number) => [...connections].filter((conn) => conn.user?.userId === userId);

  async function getChart(conn: Connection, id: number, body: z.infer<typeof getChartBody>) {
    const refused = faults.take((kind) => kind === "refuse_chart");
    const symbol = String(body.symbol);
    if (refused || !underlyingOf(symbol) || body.chartDescription.underlyingType !== "MinuteBar") {
      return frame(conn, [{ i: id, s: 400, d: refused ? "Chart request refused" : `Unknown symbol or unsupported chart: ${symbol.slice(0, 20)}` }]);
    }
    stats.charts += 1;
    const historicalId = nextSubscription++;
    const realtimeId = nextSubscription++;
    conn.subscriptions.set(historicalId, { kind: "historical" });
    frame(conn, [{ i: id, s: 200, d: { historicalId, realtimeId } }]);
    const at = Date.now();
    const range = body.timeRange;
    const bars = walk.bars(symbol, body.chartDescription.elementSize, {
      closest: range.closestTimestamp ? Date.parse(range.closestTimestamp) : at,
      asFarAs: range.asFarAsTimestamp ? Date.parse(range.asFarAsTimestamp) : null,
      asMuchAs: range.asMuchAsElements ?? 100,
    }, at);
    const tradeDate = Number(new Date(at).toISOString().slice(0, 10).replaceAll("-", ""));
    const drop = faults.take((kind) => kind === "drop_mid_chart");
    for (let offset = 0; offset < bars.length; offset += packetBars) {
      if (drop && offset >= Math.floor(bars.length / 2)) break;
      const packet = bars.slice(offset, offset + packetBars);
      stats.barsSent += packet.length;
      frame(conn, [{ e: "chart", d: { charts: [{ id: historicalId, td: tradeDate, bars: packet }] } }]);
    }
    if (drop) {
      stats.droppedByFault += 1;
      // A network drop: no close frame.
      conn.socket.terminate();
      return;
    }
    const slow = faults.take((kind) => kind === "slow_eoh");
    if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow.params.delayMs ?? 5_000)));
    frame(conn, [{ e: "chart", d: { charts: [{ id: historicalId, eoh: true }] } }]);
    conn.subscriptions.delete(historicalId);
    // Until cancelled, the forming bar streams under the real-time id.
    const timer = setInterval(() => {
      const forming = walk.bars(symbol, body.chartDescription.elementSize, { closest: Date.now(), asFarAs: null, asMuchAs: 1 }, Date.now());
      frame(conn, [{ e: "chart", d: { charts: [{ id: realtimeId, td: tradeDate, bars: forming }] } }]);
    }, 1_000);
    conn.subscriptions.set(realtimeId, { kind: "realtime", timer });
  }

  async function onRequest(conn: Connection, raw: string) {
    const [endpoint = "", idText = "", , ...rest] = raw.split("\n");
    const id = Number(idText);
    const body = rest.join("\n");
    stats.requests[endpoint] = (stats.requests[endpoint] ?? 0) + 1;
    if (endpoint === "authorize") {
      const user = options.auth.mdToken(body.trim());
      if (!user) {
        stats.unauthorized += 1;
        return frame(conn, [{ i: id, s: 401, d: "Access is denied" }]);
      }
      conn.user = user;
      conn.token = body.trim();
      stats.authorized += 1;
      const mine = userConnections(user.userId);
      // Over the limit: the oldest goes, and its token with it (Tradovate's documented behaviour).
      while (mine.length > maxPerUser) {
        const oldest = mine.shift()!;
        stats.evicted += 1;
        if (oldest.token) options.auth.revokeMdToken?.(oldest.token);
        end(oldest, 1008, "Connection limit exceeded");
        connections.delete(oldest);
      }
      stats.peakConnectionsPerUser = Math.max(stats.peakConnectionsPerUser, userConnections(user.userId).length);
      return frame(conn, [{ i: id, s: 200 }]);
    }
    if (!conn.user) {
      stats.requestsBeforeAuthorize += 1;
      return frame(conn, [{ i: id, s: 401, d: "Access is denied" }]);
    }
    if (conn.token && !options.auth.mdToken(conn.token)) {
      stats.closedForExpiredToken += 1;
      return end(conn, 1008, "Access token expired");
    }
    let json: unknown;
    try {
      json = body.trim() === "" ? {} : JSON.parse(body);
    } catch {
      return frame(conn, [{ i: id, s: 400, d: "Invalid JSON body" }]);
    }
    if (endpoint.toLowerCase() === "md/getchart") {
      const parsed = getChartBody.safeParse(json);
      if (!parsed.success) return frame(conn, [{ i: id, s: 400, d: "Invalid md/getChart request" }]);
      return getChart(conn, id, parsed.data);
    }
    if (endpoint.toLowerCase() === "md/cancelchart") {
      const subscriptionId = Number((json as { subscriptionId?: unknown }).subscriptionId);
      const subscription = conn.subscriptions.get(subscriptionId);
      if (subscription) {
        clearInterval(subscription.timer);
        conn.subscriptions.delete(subscriptionId);
        stats.cancels[subscription.kind] += 1;
        return frame(conn, [{ i: id, s: 200 }]);
      }
      stats.cancels.unknown += 1;
      // A finished historical subscription: nothing left to cancel, which is fine.
      return frame(conn, [{ i: id, s: 200 }]);
    }
    frame(conn, [{ i: id, s: 404, d: `Unknown endpoint ${endpoint.slice(0, 40)}` }]);
  }

  const admin = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://stand-in").pathname;
    if (req.method === "GET" && path === "/__admin/stats") return json(res, 200, stats);
    if (req.method === "POST" && path === "/__admin/faults") {
      const parsed = faultBody.safeParse(JSON.parse((await readText(req)) || "{}"));
      if (!parsed.success) return json(res, 400, { error: z.prettifyError(parsed.error) });
      faults.set(parsed.data.kind, parsed.data.count, parsed.data.delayMs === undefined ? {} : { delayMs: parsed.data.delayMs });
      return json(res, 200, { faults: faults.current() });
    }
    json(res, 404, { error: "not found" });
  };

  const http = createServer((req, res) => void admin(req, res).catch(() => json(res, 500, { error: "admin failed" })));
  const wss = new WebSocketServer({ server: http, path: "/v1/websocket" });
  wss.on("connection", (socket) => {
    const conn: Connection = { socket, user: null, token: null, lastClientFrame: Date.now(), subscriptions: new Map() };
    connections.add(conn);
    stats.connections += 1;
    socket.send("o");
    const heartbeat = setInterval(() => {
      if (Date.now() - conn.lastClientFrame > clientTimeoutMs) {
        stats.droppedForSilence += 1;
        return end(conn, 1000, "No heartbeat");
      }
      if (socket.readyState === socket.OPEN) socket.send("h");
    }, options.serverHeartbeatMs ?? 2_500);
    socket.on("message", (data) => {
      conn.lastClientFrame = Date.now();
      const text = data.toString();
      if (text === "[]") {
        stats.clientHeartbeats += 1;
        return;
      }
      void onRequest(conn, text).catch(() => {});
    });
    socket.on("close", () => {
      clearInterval(heartbeat);
      for (const subscription of conn.subscriptions.values()) clearInterval(subscription.timer);
      connections.delete(conn);
    });
    socket.on("error", () => {});
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = http.address() as AddressInfo;

  return {
    url: `ws://${address.address}:${address.port}/v1/websocket`,
    stats: () => structuredClone(stats),
    setFault: (kind, fault = {}) => faults.set(kind, fault.count, fault.delayMs === undefined ? {} : { delayMs: fault.delayMs }),
    dropAll: () => {
      for (const conn of connections) conn.socket.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const conn of connections) conn.socket.terminate();
        wss.close(() => http.close(() => resolve()));
        http.closeAllConnections();
      }),
  };
}
