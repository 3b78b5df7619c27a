// The Grafana "Gozon" dashboard, rendered from its own queries without Grafana
// (no image of it runs here): every panel of
// observability/grafana/dashboards/gozon.json, in its place on the grid, each
// target's PromQL asked of a Prometheus over a window (query_range), drawn as
// lines with the target's legend. The benchmark renders it after its observed
// run and photographs it with Chromium, so the dashboard under load is a file
// anyone can look at.
import { writeFileSync } from 'node:fs';
import { expandQuery, launchChromium, readDashboard, type DashboardPanel } from '@gozon/testkit';
import { SCRAPE_SECONDS } from './observability.ts';

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const WIDTH = 1400;
const ROW_HEIGHT = 34;

interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** A stretch of the window to mark under the panels: a phase of the run, from and to in Unix seconds. */
export interface Mark {
  name: string;
  from: number;
  to: number;
}

/** Grafana's legend format: `{{label}}` replaced by the series' label value (https://grafana.com/docs/grafana/latest/datasources/prometheus/query-editor/#legend). */
function legendOf(format: string | undefined, labels: Record<string, string>, expr: string): string {
  if (!format) return JSON.stringify(labels) === '{}' ? expr : JSON.stringify(labels);
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, label: string) => labels[label] ?? '');
}

/**
 * One target over [start, end] (Unix seconds) every `step` seconds, through
 * Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries);
 * a series per label set. Throws when Prometheus answers with an error.
 */
async function queryRange(prometheus: string, expr: string, start: number, end: number, step: number) {
  const query = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
  const response = await fetch(`${prometheus}/api/v1/query_range?${query.toString()}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  return (body.data?.result ?? []).map((series) => ({
    labels: series.metric,
    points: series.values.map(([t, v]): [number, number] => [t, Number(v)]).filter(([, v]) => Number.isFinite(v)),
  }));
}

/** A value in the panel's Grafana unit, short. */
function formatValue(value: number, unit = 'short'): string {
  const short = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));
  switch (unit) {
    case 's':
      return value < 1 ? `${short(value * 1000)} ms` : `${short(value)} s`;
    case 'percentunit':
      return `${short(value * 100)} %`;
    case 'reqps':
      return `${short(value)}/s`;
    default:
      return short(value);
  }
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The points in runs without a gap: a step missing between two points starts a new run. */
function splitAtGaps(points: Array<[number, number]>, step: number): Array<Array<[number, number]>> {
  const runs: Array<Array<[number, number]>> = [];
  for (const point of points) {
    const run = runs.at(-1);
    if (run && point[0] - run.at(-1)![0] <= 1.5 * step) run.push(point);
    else runs.push([point]);
  }
  return runs;
}

/** One panel as an SVG of `width` × `height`: its lines, the y scale from 0, the marks, and the legend. */
function renderPanel(
  panel: DashboardPanel,
  series: Series[],
  window: { start: number; end: number; step: number; marks: Mark[] },
  size: { width: number; height: number },
) {
  const unit = panel.fieldConfig?.defaults?.unit;
  const legendRows = Math.ceil(series.length / 2);
  const plot = { left: 70, top: 30, right: size.width - 12, bottom: size.height - 30 - 16 * legendRows };
  const max = Math.max(0, ...series.flatMap((s) => s.points.map(([, v]) => v))) || 1;
  const x = (t: number) => plot.left + ((t - window.start) / (window.end - window.start)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - (v / max) * (plot.bottom - plot.top);
  const grid = [0, 0.5, 1].map(
    (share) =>
      `<line x1="${plot.left}" x2="${plot.right}" y1="${y(max * share)}" y2="${y(max * share)}" stroke="#e5e7eb"/>` +
      `<text x="${plot.left - 6}" y="${y(max * share) + 4}" text-anchor="end" fill="#6b7280">${formatValue(max * share, unit)}</text>`,
  );
  const marks = window.marks.map(
    (mark, i) =>
      `<rect x="${x(mark.from)}" y="${plot.top}" width="${Math.max(1, x(mark.to) - x(mark.from))}" height="${plot.bottom - plot.top}" fill="${i % 2 ? '#f3f4f6' : '#f9fafb'}"/>` +
      `<text x="${x(mark.from) + 3}" y="${plot.bottom + 13}" fill="#6b7280" font-size="10">${escape(mark.name)}</text>`,
  );
  // Where Prometheus has no value the line breaks, as Grafana's does; a lone point is a dot.
  const lines = series.flatMap((s, i) =>
    splitAtGaps(s.points, window.step).map((run) =>
      run.length === 1
        ? `<circle cx="${x(run[0]![0]).toFixed(1)}" cy="${y(run[0]![1]).toFixed(1)}" r="1.6" fill="${COLORS[i % COLORS.length]}"/>`
        : `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" points="${run.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    ),
  );
  const legend = series.map((s, i) => {
    const last = s.points.at(-1)?.[1];
    const peak = Math.max(...s.points.map(([, v]) => v));
    const col = i % 2;
    const row = Math.floor(i / 2);
    return `<text x="${plot.left + col * ((plot.right - plot.left) / 2)}" y="${plot.bottom + 32 + row * 16}"><tspan fill="${COLORS[i % COLORS.length]}">■</tspan> ${escape(s.name)}  <tspan fill="#6b7280">max ${s.points.length ? formatValue(peak, unit) : '–'}, last ${last === undefined ? '–' : formatValue(last, unit)}</tspan></text>`;
  });
  const empty =
    series.length === 0
      ? `<text x="${(plot.left + plot.right) / 2}" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle" fill="#9ca3af">no data</text>`
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white" stroke="#d1d5db"/>
<text x="10" y="19" font-size="13" font-weight="bold">${escape(panel.title)}</text>
${marks.join('')}${grid.join('')}${lines.join('')}${empty}${legend.join('')}
</svg>`;
}

/**
 * The dashboard over [start, end] (Unix seconds) as a standalone HTML page,
 * every panel's targets asked of `prometheus` at a step of a 200th of the
 * window (at least 1 s), the marks shaded under every panel. Throws when a
 * query is refused: the dashboard's PromQL must stay valid.
 */
export async function renderDashboard(
  prometheus: string,
  window: { start: number; end: number; marks: Mark[] },
  caption: string,
) {
  const { title, panels } = readDashboard();
  const step = Math.max(1, Math.round((window.end - window.start) / 200));
  const cell = WIDTH / 24;
  const height = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h)) * ROW_HEIGHT;
  const rendered = await Promise.all(
    panels.map(async (panel) => {
      const series: Series[] = [];
      for (const target of panel.targets)
        for (const { labels, points } of await queryRange(
          prometheus,
          expandQuery(target.expr, { scrapeSeconds: SCRAPE_SECONDS, stepSeconds: step }),
          window.start,
          window.end,
          step,
        ))
          series.push({ name: legendOf(target.legendFormat, labels, target.expr), points });
      const { x, y, w, h } = panel.gridPos;
      const svg = renderPanel(panel, series, { ...window, step }, { width: w * cell - 8, height: h * ROW_HEIGHT - 8 });
      return `<div style="position:absolute;left:${x * cell}px;top:${y * ROW_HEIGHT}px">${svg}</div>`;
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} (rendered)</title></head>
<body style="margin:16px;font-family:sans-serif;background:#f3f4f6">
<h1 style="font-size:18px;margin:0 0 4px">${escape(title)}</h1>
<p style="font-size:12px;margin:0 0 12px;color:#374151">${escape(caption)}</p>
<div style="position:relative;width:${WIDTH}px;height:${height}px">${rendered.join('\n')}</div>
</body></html>
`;
}

/** The page at `htmlPath` photographed whole by Debian's Chromium, as PNG at `pngPath`. */
export async function screenshotPage(htmlPath: string, pngPath: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH + 32, height: 900 } });
    await page.goto(`file://${htmlPath}`);
    await page.screenshot({ path: pngPath, fullPage: true });
  } finally {
    await browser.close();
  }
}

/** Writes the rendered dashboard beside its screenshot: `<base>.html` and `<base>.png`. */
export async function saveDashboard(
  prometheus: string,
  window: { start: number; end: number; marks: Mark[] },
  caption: string,
  base: string,
): Promise<void> {
  writeFileSync(`${base}.html`, await renderDashboard(prometheus, window, caption));
  await screenshotPage(`${base}.html`, `${base}.png`);
}
