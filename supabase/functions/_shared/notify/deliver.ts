import type { Notification } from "./message.ts";

/** What one channel did with one notification. Errors name the provider's answer, never the URL or token. */
export interface Delivery {
  channel: string;
  ok: boolean;
  status: number | null;
  error?: string;
}

export interface Channel {
  readonly name: string;
  send(notification: Notification): Promise<Delivery>;
}

export interface PostOptions {
  fetch?: typeof fetch;
  timeoutMs: number;
}

export interface Posted {
  status: number;
  contentType: string;
  text: string;
}

export class DeliveryError extends Error {
  override name = "DeliveryError";
}

/**
 * POSTs JSON with a deadline. The error for a network failure is generic on purpose: runtimes put
 * the URL in their messages, and for Telegram the URL carries the bot token.
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<Posted> {
  const doFetch = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await doFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    const text = (await response.text()).slice(0, 2_000);
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", text };
  } catch (error) {
    if (signal.aborted) throw new DeliveryError(`no answer within ${options.timeoutMs} ms`);
    throw new DeliveryError(`network error (${error instanceof Error ? error.name : "unknown"})`);
  }
}

/** Runs a send, turning anything thrown into a failed delivery: a channel never throws. */
export async function attempt(channel: string, send: () => Promise<Delivery>): Promise<Delivery> {
  try {
    return await send();
  } catch (error) {
    return { channel, ok: false, status: null, error: error instanceof DeliveryError ? error.message : "unexpected error" };
  }
}

/** Sends to every channel at once; one channel failing never stops the others. */
export async function deliverAll(channels: readonly Channel[], notification: Notification): Promise<Delivery[]> {
  return await Promise.all(channels.map((channel) => attempt(channel.name, () => channel.send(notification))));
}
