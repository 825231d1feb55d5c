import { lagChartSvg } from "./chart.ts";
import type { LagHistory } from "./history.ts";
import type { HealthReport, HealthStatus } from "./types.ts";

const COLOURS: Record<HealthStatus, { fg: string; bg: string; label: string }> = {
  pass: { fg: "#166534", bg: "#dcfce7", label: "All systems go" },
  warn: { fg: "#92400e", bg: "#fef3c7", label: "Degraded" },
  fail: { fg: "#991b1b", bg: "#fee2e2", label: "Failing" },
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function value(observed: number | string | null, unit: string): string {
  if (observed === null) return "—";
  if (typeof observed === "string") return escapeHtml(observed);
  const shown = Number.isInteger(observed) ? observed.toLocaleString("en-US") : observed.toFixed(observed < 10 ? 2 : 1);
  return `${shown} ${escapeHtml(unit)}`;
}

const badge = (status: HealthStatus) =>
  `<span class="badge ${status}" style="color:${COLOURS[status].fg};background:${COLOURS[status].bg}">${status}</span>`;

/**
 * The checks for people: one self-contained page (inline CSS and SVG, no script, no external
 * resource), refreshing itself every 30 s. Outputs appear only for the service key, as in the JSON.
 */
export function renderStatusPage(report: HealthReport, history: LagHistory, detailed: boolean): string {
  const overall = COLOURS[report.status];
  const rows = report.checks
    .map(
      (check) =>
        `<tr class="check ${check.status}"><td>${escapeHtml(check.name)}</td><td>${escapeHtml(check.componentId ?? "")}</td>` +
        `<td class="num">${value(check.observedValue, check.observedUnit)}</td><td>${badge(check.status)}</td>` +
        (detailed ? `<td class="output">${escapeHtml(check.output)}</td>` : "") +
        "</tr>",
    )
    .join("\n");
  const notes = report.notes.length === 0 ? "" : `<ul class="notes">${report.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>`;
  const lastRun = report.summary.lastRun
    ? `${escapeHtml(report.summary.lastRun.function)} ${escapeHtml(report.summary.lastRun.outcome)} at ${escapeHtml(report.summary.lastRun.startedAt)}`
    : "none on record";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>peakwatch status: ${report.status}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;margin:0;background:#f1f5f9;color:#0f172a}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 16px}
.overall{padding:16px 20px;border-radius:10px;font-size:20px;font-weight:600;margin-bottom:16px}
.summary{display:flex;gap:24px;flex-wrap:wrap;margin:0 0 16px;font-size:14px}
.summary div{background:#fff;border-radius:8px;padding:10px 14px}
.summary b{display:block;font-size:18px}
section{background:#fff;border-radius:10px;padding:16px;margin-bottom:16px}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.output{color:#475569;font-size:12px}
.badge{display:inline-block;padding:2px 8px;border-radius:999px;font-weight:600;font-size:12px;text-transform:uppercase}
tr.fail td:first-child{border-left:4px solid #dc2626}
tr.warn td:first-child{border-left:4px solid #d97706}
tr.pass td:first-child{border-left:4px solid #16a34a}
.notes{color:#475569;font-size:13px}
footer{color:#64748b;font-size:12px}
</style>
</head>
<body>
<main>
<h1>peakwatch status</h1>
<div class="overall ${report.status}" id="overall" style="color:${overall.fg};background:${overall.bg}">${overall.label} — ${report.status}</div>
<div class="summary">
<div>Last tracker run<b>${lastRun}</b></div>
<div>Unprocessed tokens<b>${report.summary.unprocessedTokens ?? "—"}</b></div>
<div>Average lag<b>${report.summary.averageLag === null ? "—" : `${report.summary.averageLag.toFixed(1)} s`}</b></div>
</div>
<section>
<h2>Lag, last ${Math.round((history.to - history.from) / 3_600_000)} h</h2>
${lagChartSvg(history)}
</section>
<section>
<h2>Checks</h2>
<table>
<thead><tr><th>check</th><th>component</th><th>value</th><th>status</th>${detailed ? "<th>output</th>" : ""}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
${notes}
</section>
<footer>Evaluated at ${escapeHtml(report.time)}. Machine-readable: <code>/functions/v1/health</code> (application/health+json).</footer>
</main>
</body>
</html>
`;
}
