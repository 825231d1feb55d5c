import { z } from "zod";

/**
 * Tradovate's WebSocket speaks SockJS-style frames: `o` (open), `h` (server heartbeat), `a[...]`
 * (a JSON array of messages), `c[code,"reason"]` (close). A message is a response `{i, s, d}` to
 * request `i`, or an event `{e, d}`. Requests are `endpoint\nid\nquery\nbody`; the client's own
 * heartbeat is `[]`. (Tradovate's example-api-js tutorials EX-06 and EX-10, and its partner docs.)
 */
export type Frame =
  | { type: "open" }
  | { type: "heartbeat" }
  | { type: "messages"; messages: Message[] }
  | { type: "close"; code: number | null; reason: string };

export const responseMessage = z.object({ i: z.number().int(), s: z.number().int(), d: z.unknown().optional() });
export const eventMessage = z.object({ e: z.string(), d: z.unknown().optional() });
export type ResponseMessage = z.infer<typeof responseMessage>;
export type EventMessage = z.infer<typeof eventMessage>;
export type Message = { kind: "response"; response: ResponseMessage } | { kind: "event"; event: EventMessage } | { kind: "unknown" };

export class FrameError extends Error {
  override name = "FrameError";
}

const closeBody = z.tuple([z.number().int(), z.string()]).rest(z.unknown());

/** Parses one frame; throws FrameError (never quoting the payload, which may echo a token) for anything else. */
export function parseFrame(raw: string): Frame {
  const type = raw.slice(0, 1);
  if (type === "o" && raw.length === 1) return { type: "open" };
  if (type === "h" && raw.length === 1) return { type: "heartbeat" };
  if (type !== "a" && type !== "c") throw new FrameError(`unknown frame type ${JSON.stringify(type)} (${raw.length} characters)`);
  let json: unknown;
  try {
    json = JSON.parse(raw.slice(1));
  } catch {
    throw new FrameError(`frame "${type}" is not valid JSON (${raw.length} characters)`);
  }
  if (type === "c") {
    const parsed = closeBody.safeParse(json);
    return parsed.success ? { type: "close", code: parsed.data[0], reason: parsed.data[1].slice(0, 200) } : { type: "close", code: null, reason: "" };
  }
  if (!Array.isArray(json)) throw new FrameError(`frame "a" does not hold an array`);
  return { type: "messages", messages: json.map(readMessage) };
}

function readMessage(item: unknown): Message {
  const response = responseMessage.safeParse(item);
  if (response.success) return { kind: "response", response: response.data };
  const event = eventMessage.safeParse(item);
  if (event.success) return { kind: "event", event: event.data };
  return { kind: "unknown" };
}

/** `endpoint\nid\nquery\nbody`; a string body (authorize's token) goes as is, anything else as JSON. */
export function encodeRequest(endpoint: string, id: number, body?: unknown, query = ""): string {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  return `${endpoint}\n${id}\n${query}\n${text}`;
}

export const CLIENT_HEARTBEAT = "[]";

// --- md/getChart -------------------------------------------------------------------------------

export interface ChartDescription {
  underlyingType: "MinuteBar" | "DailyBar";
  elementSize: number;
  elementSizeUnit: "UnderlyingUnits";
  withHistogram: false;
}

/** "All fields in timeRange are optional, but at least one is required" (Tradovate's EX-10). */
export interface TimeRange {
  closestTimestamp?: string;
  asFarAsTimestamp?: string;
  asMuchAsElements?: number;
}

export interface GetChartBody {
  symbol: string | number;
  chartDescription: ChartDescription;
  timeRange: TimeRange;
}

/** `md/getChart`'s answer: two subscription ids; historical packets carry the first. */
export const getChartResponse = z.object({ historicalId: z.number().int(), realtimeId: z.number().int() });

export const chartBar = z.object({
  timestamp: z.iso.datetime({ offset: true }),
  open: z.number().finite(),
  high: z.number().finite(),
  low: z.number().finite(),
  close: z.number().finite(),
  upVolume: z.number().finite().min(0),
  downVolume: z.number().finite().min(0),
});
export type ChartBar = z.infer<typeof chartBar>;

/** One packet of a `chart` event: bars of subscription `id`, or its end-of-history mark. */
const chartPacket = z.looseObject({ id: z.number().int(), eoh: z.boolean().optional(), bars: z.array(z.unknown()).optional() });
const chartEvent = z.object({ charts: z.array(z.unknown()) });

export interface ChartPacket {
  id: number;
  eoh: boolean;
  bars: ChartBar[];
  /** Bars that failed their schema (counted as drift by the caller). */
  rejected: number;
}

/**
 * The packets of a chart event; null when the event is something else. Public clients see charts as
 * `{"e":"chart","d":{"charts":[…]}}`; Tradovate's own tutorial reads `d.charts` whatever `e` says,
 * and so does this.
 */
export function readChartEvent(event: EventMessage): { packets: ChartPacket[]; rejected: number } | null {
  const body = chartEvent.safeParse(event.d);
  if (!body.success) return event.e === "chart" ? { packets: [], rejected: 1 } : null;
  let rejected = 0;
  const packets: ChartPacket[] = [];
  for (const raw of body.data.charts) {
    const packet = chartPacket.safeParse(raw);
    if (!packet.success) {
      rejected += 1;
      continue;
    }
    const bars: ChartBar[] = [];
    let bad = 0;
    for (const item of packet.data.bars ?? []) {
      const bar = chartBar.safeParse(item);
      if (bar.success) bars.push(bar.data);
      else bad += 1;
    }
    rejected += bad;
    packets.push({ id: packet.data.id, eoh: packet.data.eoh === true, bars, rejected: bad });
  }
  return { packets, rejected };
}
