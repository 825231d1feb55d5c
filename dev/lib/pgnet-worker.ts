import postgres from "postgres";

export interface PgNetWorker {
  /** Requests sent so far (for the live view and tests). */
  sent(): number;
  stop(): Promise<void>;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Buffer | null;
  timeout_milliseconds: number;
}

/**
 * Drains the pg_net stand-in's net.http_request_queue like pg_net's background worker: takes
 * committed requests (SKIP LOCKED, so two workers never send one twice), sends them with their
 * own timeout, and records every answer, timeout or connection error in net._http_response.
 */
export async function startPgNetWorker(dbUrl: string, options: { pollMs?: number; batch?: number } = {}): Promise<PgNetWorker> {
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {}, connection: { application_name: "pg_net stand-in" } });
  let sent = 0;
  let stopped = false;
  let wake: () => void = () => {};
  const inFlight = new Set<Promise<void>>();

  const deliver = async (request: QueuedRequest) => {
    let row: Record<string, unknown>;
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers ?? {},
        body: request.method === "GET" || !request.body ? undefined : new Uint8Array(request.body),
        signal: AbortSignal.timeout(request.timeout_milliseconds),
      });
      const content = await response.text();
      row = {
        id: request.id,
        status_code: response.status,
        content_type: response.headers.get("content-type"),
        headers: Object.fromEntries(response.headers),
        content,
        timed_out: false,
        error_msg: null,
      };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      row = {
        id: request.id,
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: timedOut,
        error_msg: timedOut ? `Timeout of ${request.timeout_milliseconds} ms reached` : (error as Error).message,
      };
    }
    sent += 1;
    await sql`insert into net._http_response ${sql(row as Record<string, postgres.ParameterOrJSON<never>>)}`.catch(() => {});
  };

  const drain = async () => {
    const batch = await sql<QueuedRequest[]>`
      delete from net.http_request_queue
      where id in (select id from net.http_request_queue order by id limit ${options.batch ?? 50} for update skip locked)
      returning id, method, url, headers, body, timeout_milliseconds`;
    for (const request of batch) {
      const delivery = deliver(request).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
    return batch.length;
  };

  const listener = await sql.listen("pg_net_standin", () => wake());
  const loop = (async () => {
    while (!stopped) {
      const taken = await drain().catch(() => 0);
      if (taken > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  return {
    sent: () => sent,
    async stop() {
      stopped = true;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
      await listener.unlisten();
      await sql.end({ timeout: 1 });
    },
  };
}
