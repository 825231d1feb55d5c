import {
  type ChartBar,
  type ChartPacket,
  CLIENT_HEARTBEAT,
  encodeRequest,
  FrameError,
  type GetChartBody,
  getChartResponse,
  parseFrame,
  readChartEvent,
  type ResponseMessage,
} from "./frames.ts";

/** What the session needs of a WebSocket: the web standard one (Deno, browsers, Node ≥ 22) and `ws` both fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
}

export type OpenSocket = (url: string) => SocketLike;

/** The runtime's own WebSocket (Deno and the edge runtime have one; Node gets `ws` passed in). */
export const globalSocket: OpenSocket = (url) => {
  const Socket = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Socket) throw new Error("no global WebSocket in this runtime: pass openSocket");
  return new Socket(url);
};

export type SessionFailure =
  /** The socket closed (or errored) before the work was done: worth a new session. */
  | "dropped"
  /** `authorize` was refused: the market-data token is not (or no longer) accepted. */
  | "unauthorized"
  | "timeout"
  /** A frame or answer that is not Tradovate's shape. */
  | "protocol"
  /** A request answered with a non-200 status. */
  | "rejected";

export class MdSessionError extends Error {
  override name = "MdSessionError";
  constructor(
    readonly kind: SessionFailure,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export interface MdSessionOptions {
  url: string;
  /** The mdAccessToken; sent once, inside the socket, never logged. */
  token: string;
  openSocket: OpenSocket;
  signal: AbortSignal;
  /** Tradovate asks for a client heartbeat about every 2.5 s. */
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  /** Most characters one frame may hold (the egress cap for provider answers). */
  maxFrameChars: number;
}

export interface ChartResult {
  historicalId: number;
  realtimeId: number;
  bars: ChartBar[];
  /** Bars or packets that failed their schema. */
  rejected: number;
}

export interface MdSession {
  request(endpoint: string, body?: unknown): Promise<ResponseMessage>;
  /** md/getChart, then every historical packet up to the end-of-history mark. */
  getChart(body: GetChartBody, eohTimeoutMs: number): Promise<ChartResult>;
  /** md/cancelChart for a subscription id; a refusal is returned, not thrown (the session is closing anyway). */
  cancelChart(subscriptionId: number): Promise<number>;
  close(): void;
  /** False once the socket dropped, the server closed it or we did. */
  readonly alive: boolean;
  readonly frames: { received: number; heartbeatsSent: number };
}

interface Pending {
  resolve(message: ResponseMessage): void;
  reject(error: Error): void;
}

/** Opens and authorizes one market-data session. */
export function openMdSession(options: MdSessionOptions): Promise<MdSession> {
  const heartbeatMs = options.heartbeatMs ?? 2_500;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const socket = options.openSocket(options.url);
  const pending = new Map<number, Pending>();
  const packets = new Map<number, ChartPacket[]>();
  const packetListeners = new Set<() => void>();
  const frames = { received: 0, heartbeatsSent: 0 };
  let nextId = 1;
  let failure: MdSessionError | null = null;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let opened: (() => void) | undefined;

  const fail = (error: MdSessionError) => {
    if (failure) return;
    failure = error;
    clearInterval(heartbeat);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
    for (const listener of packetListeners) listener();
    try {
      socket.close();
    } catch {
      // already closed
    }
  };
  const onAbort = () => fail(new MdSessionError("timeout", "session deadline reached"));
  options.signal.addEventListener("abort", onAbort, { once: true });

  socket.addEventListener("message", (event) => {
    if (failure) return;
    const raw = typeof event.data === "string" ? event.data : "";
    frames.received += 1;
    if (raw.length > options.maxFrameChars) return fail(new MdSessionError("protocol", `a frame of ${raw.length} characters is over the cap of ${options.maxFrameChars}`));
    let frame;
    try {
      frame = parseFrame(raw);
    } catch (error) {
      return fail(new MdSessionError("protocol", error instanceof FrameError ? error.message : "unreadable frame"));
    }
    if (frame.type === "open") return opened?.();
    if (frame.type === "close") return fail(new MdSessionError("dropped", `server closed the session (${frame.code ?? "?"} ${frame.reason})`));
    if (frame.type !== "messages") return;
    let sawPacket = false;
    for (const message of frame.messages) {
      if (message.kind === "response") {
        const waiter = pending.get(message.response.i);
        pending.delete(message.response.i);
        waiter?.resolve(message.response);
      } else if (message.kind === "event") {
        const chart = readChartEvent(message.event);
        for (const packet of chart?.packets ?? []) {
          const list = packets.get(packet.id) ?? [];
          list.push(packet);
          packets.set(packet.id, list);
          sawPacket = true;
        }
      }
    }
    if (sawPacket) for (const listener of packetListeners) listener();
  });
  socket.addEventListener("close", (event) => fail(new MdSessionError("dropped", `socket closed (${event.code ?? "?"})`)));
  socket.addEventListener("error", () => fail(new MdSessionError("dropped", "socket error")));

  const send = (text: string) => {
    if (failure) throw failure;
    socket.send(text);
  };

  function request(endpoint: string, body?: unknown): Promise<ResponseMessage> {
    if (failure) return Promise.reject(failure);
    const id = endpoint === "authorize" ? 0 : nextId++;
    return new Promise<ResponseMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new MdSessionError("timeout", `${endpoint} not answered within ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      pending.set(id, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      try {
        send(encodeRequest(endpoint, id, body));
      } catch (error) {
        pending.delete(id);
        clearTimeout(timer);
        reject(error);
      }
    });
  }

  /** Resolves when subscription `id` has delivered its end-of-history mark. */
  function untilEndOfHistory(id: number, timeoutMs: number): Promise<ChartPacket[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (failure) return done(() => reject(failure));
        const list = packets.get(id) ?? [];
        if (list.some((packet) => packet.eoh)) done(() => resolve(list));
      };
      const timer = setTimeout(() => done(() => reject(new MdSessionError("timeout", `no end of history for chart ${id} within ${timeoutMs} ms`))), timeoutMs);
      const done = (finish: () => void) => {
        clearTimeout(timer);
        packetListeners.delete(check);
        finish();
      };
      packetListeners.add(check);
      check();
    });
  }

  const session: MdSession = {
    request,
    async getChart(body, eohTimeoutMs) {
      const answer = await request("md/getChart", body);
      if (answer.s !== 200) throw new MdSessionError("rejected", `md/getChart answered ${answer.s}${describe(answer.d)}`, answer.s);
      const ids = getChartResponse.safeParse(answer.d);
      if (!ids.success) throw new MdSessionError("protocol", "md/getChart answer has no historicalId/realtimeId");
      const list = await untilEndOfHistory(ids.data.historicalId, eohTimeoutMs);
      packets.delete(ids.data.historicalId);
      packets.delete(ids.data.realtimeId);
      return {
        historicalId: ids.data.historicalId,
        realtimeId: ids.data.realtimeId,
        bars: list.flatMap((packet) => packet.bars),
        rejected: list.reduce((sum, packet) => sum + packet.rejected, 0),
      };
    },
    async cancelChart(subscriptionId) {
      const answer = await request("md/cancelChart", { subscriptionId });
      packets.delete(subscriptionId);
      return answer.s;
    },
    close() {
      options.signal.removeEventListener("abort", onAbort);
      fail(new MdSessionError("dropped", "closed by us"));
    },
    get alive() {
      return failure === null;
    },
    frames,
  };

  return new Promise<MdSession>((resolve, reject) => {
    const timer = setTimeout(() => fail(new MdSessionError("timeout", `no open frame within ${requestTimeoutMs} ms`)), requestTimeoutMs);
    const onFailure = () => {
      clearTimeout(timer);
      reject(failure);
    };
    packetListeners.add(onFailure);
    opened = () => {
      opened = undefined;
      clearTimeout(timer);
      packetListeners.delete(onFailure);
      heartbeat = setInterval(() => {
        if (failure || socket.readyState !== 1) return;
        socket.send(CLIENT_HEARTBEAT);
        frames.heartbeatsSent += 1;
      }, heartbeatMs);
      request("authorize", options.token).then((answer) => {
        if (answer.s === 200) return resolve(session);
        const error = new MdSessionError(answer.s === 401 ? "unauthorized" : "rejected", `authorize answered ${answer.s}${describe(answer.d)}`, answer.s);
        fail(error);
        reject(error);
      }, (error: unknown) => {
        reject(error);
      });
    };
  });
}

/** A short, token-free description of an error payload (Tradovate sends a text or {errorText}). */
function describe(d: unknown): string {
  const text = typeof d === "string" ? d : typeof d === "object" && d !== null && typeof (d as { errorText?: unknown }).errorText === "string" ? (d as { errorText: string }).errorText : "";
  return text ? `: ${text.slice(0, 120).replace(/[A-Za-z0-9_-]{24,}/g, "[redacted]")}` : "";
}
