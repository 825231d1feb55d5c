/** A notification before any channel shapes it: a title, a few lines, a severity for colour. */
export interface Notification {
  kind: "health" | "ath";
  severity: "pass" | "warn" | "fail" | "info";
  title: string;
  lines: string[];
  /** The status page, when configured. */
  link?: string;
  time: string;
}

export const SEVERITY_EMOJI: Record<Notification["severity"], string> = { pass: "✅", warn: "🟠", fail: "🔴", info: "🚀" };

/** Cuts text to `max` characters (code units), marking the cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The same notification as plain text, for fallbacks and logs. */
export const plainText = (n: Notification): string => [n.title, ...n.lines, ...(n.link ? [n.link] : [])].join("\n");

/** As many whole lines as fit in `max` characters (joined by newlines), then "… and N more". */
export function fitLines(lines: readonly string[], max: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (const [index, line] of lines.entries()) {
    const rest = lines.length - index;
    const tail = rest > 1 ? `… and ${rest - 1} more`.length + 1 : 0;
    if (used + line.length + 1 + tail > max) {
      kept.push(`… and ${rest} more`);
      break;
    }
    kept.push(line);
    used += line.length + 1;
  }
  return kept;
}
