import type { LagHistory } from "./history.ts";

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 56, right: 16, top: 16, bottom: 40 };
const COLOURS: Record<string, string> = { tracker: "#2563eb", overdue: "#7c3aed" };

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

function niceMax(value: number): number {
  if (value <= 0) return 60;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value)!;
}

/**
 * The lag chart as inline SVG (no script, no external resource): each series a polyline, the
 * tracker's warn and fail limits as dashed lines, time in UTC along the bottom.
 */
export function lagChartSvg(history: LagHistory): string {
  const limits = [history.threshold.warn, history.threshold.fail].filter((v): v is number => v !== null);
  const peak = Math.max(0, ...history.series.flatMap((s) => s.points.map((p) => p.v)));
  const yMax = niceMax(Math.max(peak, ...limits) * 1.05);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - history.from) / (history.to - history.from)) * plotW;
  const y = (v: number) => PAD.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="lag-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="lag over the last hours">`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="#f8fafc" stroke="#cbd5e1"/>`,
  ];
  for (const fraction of [0, 0.5, 1]) {
    const value = yMax * fraction;
    parts.push(
      `<text x="${PAD.left - 6}" y="${y(value) + 4}" text-anchor="end" font-size="11" fill="#475569">${Math.round(value)} s</text>`,
    );
  }
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const t = history.from + (history.to - history.from) * fraction;
    parts.push(`<text x="${x(t)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle" font-size="11" fill="#475569">${clock(t)}</text>`);
  }
  parts.push(`<text x="${WIDTH - PAD.right}" y="${HEIGHT - 6}" text-anchor="end" font-size="11" fill="#475569">UTC</text>`);
  for (const [limit, colour, name] of [[history.threshold.warn, "#d97706", "warn"], [history.threshold.fail, "#dc2626", "fail"]] as const) {
    if (limit === null || limit > yMax) continue;
    parts.push(
      `<line class="limit-${name}" x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(limit)}" y2="${y(limit)}" stroke="${colour}" stroke-dasharray="6 4"/>`,
    );
  }
  history.series.forEach((series, index) => {
    const colour = COLOURS[series.key] ?? "#0f766e";
    if (series.points.length > 0) {
      const points = series.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
      parts.push(`<polyline class="series-${series.key}" fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`);
    }
    const legendX = PAD.left + 8 + index * 300;
    parts.push(
      `<rect x="${legendX}" y="${PAD.top + 6}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${legendX + 14}" y="${PAD.top + 15}" font-size="11" fill="#1e293b">${series.label}</text>`,
    );
  });
  if (history.series.every((s) => s.points.length === 0)) {
    parts.push(`<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle" font-size="13" fill="#64748b">no successful tracker run in this window</text>`);
  }
  parts.push("</svg>");
  return parts.join("");
}
