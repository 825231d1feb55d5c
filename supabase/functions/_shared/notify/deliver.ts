import { egressOf } from "../egress/env.ts";
import { EgressError } from "../egress/errors.ts";
import type { Egress } from "../egress/fetch.ts";
import { redactText } from "../egress/redact.ts";
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
  /** Defaults to the isolate's egress: https only, no redirects (the URL is the secret), a size cap. */
  egress?: Egress;
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
 * the URL in their messages, and for Telegram the URL carries the bot token. A refusal of the
 * egress policy says why, naming scheme://host only.
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<Posted> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await egressOf(options).fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    }, { kind: "webhook", carriesSecret: true });
    const text = (await response.text()).slice(0, 2_000);
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", text };
  } catch (error) {
    if (signal.aborted) throw new DeliveryError(`no answer within ${options.timeoutMs} ms`);
    if (error instanceof EgressError) throw new DeliveryError(error.message);
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

/** What leaves for a webhook never carries a URL's path or query (a feed's ?api_key= in an error line). */
export function redactNotification(n: Notification): Notification {
  return { ...n, title: redactText(n.title), lines: n.lines.map(redactText) };
}

/** Sends to every channel at once; one channel failing never stops the others. */
export async function deliverAll(channels: readonly Channel[], notification: Notification): Promise<Delivery[]> {
  const safe = redactNotification(notification);
  const deliveries = await Promise.all(channels.map((channel) => attempt(channel.name, () => channel.send(safe))));
  return deliveries.map((delivery) => (delivery.error ? { ...delivery, error: redactText(delivery.error) } : delivery));
}
