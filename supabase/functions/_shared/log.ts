/** One JSON line per event with a stable name; never secrets or payloads. */
export function logEvent(event: string, fields: Record<string, unknown> = {}, level: "info" | "warn" | "error" = "info"): void {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
