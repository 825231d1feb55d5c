/**
 * URLs can carry secrets in the query (`?api_key=`), the userinfo, and — for webhooks — the path
 * (Slack `/services/…`, Discord `/api/webhooks/<id>/<token>`, Telegram `/bot<token>/`). Whatever
 * can reach a table, a log or an alert keeps only `scheme://host`.
 */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "[unparsable url]";
  }
}

// A closing parenthesis ends a URL: runtimes write "(for url (https://…))".
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s"'<>`)]+/gi;
const TELEGRAM_TOKEN = /\bbot\d{3,20}:[A-Za-z0-9_-]{10,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

// Postgres text refuses NUL, and JSON with a lone surrogate does not round-trip: an error message
// quoting an upstream's bytes must still be storable, or the poll that hit it could not be recorded.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Free text (an error message, a runtime's own wording) fit for a table, a log or an alert: every
 * URL cut to scheme://host, tokens cut out, NUL and lone surrogates replaced.
 */
export function redactText(text: string): string {
  return text
    .replace(UNSTORABLE, "\ufffd")
    .replace(URL_IN_TEXT, (match) => {
      const host = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#\s]*@)?([^/?#\s]*)/i.exec(match);
      return host ? `${host[1]!.toLowerCase()}${host[2]}` : "[url]";
    })
    .replace(TELEGRAM_TOKEN, "bot[secret]")
    .replace(BEARER, "$1 [secret]");
}

/** `redactText` for every string in a flat record of log fields. */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = typeof value === "string" ? redactText(value) : value;
  return out;
}
