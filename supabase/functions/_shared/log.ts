import { redactFields } from "./egress/redact.ts";

/** One JSON line per event with a stable name; never secrets or payloads (URLs in text are cut to scheme://host). */
export function logEvent(event: string, fields: Record<string, unknown> = {}, level: "info" | "warn" | "error" = "info"): void {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, event, ...redactFields(fields) });
  if (level === "error") console.error(line);
  else console.log(line);
}
