// The SVG chart of one run: orders per second (accepted, completed) on top,
// p99 latency (HTTP, completion) below, the phases laid end to end.
import type { Run } from './report.ts';

/** Seconds left blank between two phases on the x axis. */
const PHASE_GAP_SECONDS = 2;

/** The run as a standalone SVG document, 960 px wide; the scales start at 0 and end at the largest value. */
export function renderChart(run: Run): string {
  const width = 960;
  const panel = 200;
  const points: Array<{ t: number; accepted: number; completed: number; httpP99: number; completionP99: number }> = [];
  let offset = 0;
  for (const phase of run.phases) {
    const completed = new Map(phase.completionTimeline.map((p) => [p.second, p]));
    for (const p of phase.httpTimeline) {
      const c = completed.get(p.second);
      points.push({
        t: offset + p.second,
        accepted: p.accepted,
        completed: c?.completed ?? 0,
        httpP99: p.httpP99,
        completionP99: c?.completionP99 ?? 0,
      });
    }
    offset += phase.seconds + PHASE_GAP_SECONDS;
  }
  const maxT = Math.max(1, ...points.map((p) => p.t));
  const maxRate = Math.max(1, ...points.flatMap((p) => [p.accepted, p.completed]));
  const maxLatency = Math.max(1, ...points.flatMap((p) => [p.httpP99, p.completionP99]));
  const x = (t: number) => 50 + (t / maxT) * (width - 70);
  const line = (key: keyof (typeof points)[number], max: number, top: number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map((p) => `${x(p.t).toFixed(1)},${(top + panel - (Number(p[key]) / max) * panel).toFixed(1)}`).join(' ')}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${2 * panel + 120}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="50" y="20" font-size="14">Gozon, ${run.replicas} relay(s)/worker(s) per domain: orders per second (top), p99 latency in ms (bottom), phases ${run.phases.map((p) => p.name).join(', ')}</text>
<text x="5" y="45">${maxRate}/s</text><line x1="50" y1="${30 + panel}" x2="${width - 20}" y2="${30 + panel}" stroke="#ccc"/>
${line('accepted', maxRate, 30, '#2563eb')}${line('completed', maxRate, 30, '#16a34a')}
<text x="5" y="${75 + panel}">${maxLatency} ms</text><line x1="50" y1="${60 + 2 * panel}" x2="${width - 20}" y2="${60 + 2 * panel}" stroke="#ccc"/>
${line('httpP99', maxLatency, 60 + panel, '#dc2626')}${line('completionP99', maxLatency, 60 + panel, '#9333ea')}
<text x="50" y="${2 * panel + 100}"><tspan fill="#2563eb">■ accepted/s</tspan>  <tspan fill="#16a34a">■ completed/s</tspan>  <tspan fill="#dc2626">■ HTTP p99</tspan>  <tspan fill="#9333ea">■ completion p99</tspan>  (x: seconds of load, ${maxT} s in all)</text>
</svg>
`;
}
