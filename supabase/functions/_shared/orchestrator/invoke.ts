import { FunctionsClient, FunctionsHttpError } from "@supabase/functions-js";

export interface InvokeResult {
  ok: boolean;
  status: number | null;
  error?: string;
}

export type Invoke = (name: string, body: Record<string, unknown>) => Promise<InvokeResult>;

/**
 * `supabase.functions.invoke` with the key headers of `outgoingKeyHeaders` (apikey for a secret key). FunctionsClient is the client supabase-js puts
 * behind `.functions`; used alone it needs no realtime WebSocket (Node 20 has none) and no auth.
 * Every failure comes back as a value to count.
 */
export function supabaseInvoker(supabaseUrl: string, keyHeaders: Record<string, string>, timeoutMs = 10_000): Invoke {
  const client = new FunctionsClient(`${supabaseUrl.replace(/\/$/, "")}/functions/v1`, { headers: keyHeaders });
  return async (name, body) => {
    try {
      const { error, response } = await client.invoke(name, { body, timeout: timeoutMs });
      if (!error) return { ok: true, status: response?.status ?? 200 };
      const status = error instanceof FunctionsHttpError ? (error.context as Response).status : null;
      return { ok: false, status, error: error.name };
    } catch (error) {
      return { ok: false, status: null, error: error instanceof Error ? error.name : "unknown" };
    }
  };
}
