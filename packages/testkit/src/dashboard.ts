// The observability profile's Grafana dashboard, read as Grafana reads it: for
// the test that checks its queries and for the benchmark that renders it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/** A panel of the dashboard, as far as checking and drawing it needs. */
export interface DashboardPanel {
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { uid: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets: Array<{ expr: string; legendFormat?: string; datasource: { uid: string } }>;
}

/** observability/grafana/dashboards/gozon.json. */
export function readDashboard(): { uid: string; title: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'observability/grafana/dashboards/gozon.json'), 'utf8')) as {
    uid: string;
    title: string;
    panels: DashboardPanel[];
  };
}

/**
 * A target's PromQL as Grafana sends it: `$__rate_interval` replaced by
 * max(step + scrape interval, 4 × scrape interval), in seconds
 * (https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/#use-__rate_interval).
 */
export function expandQuery(
  expr: string,
  { scrapeSeconds, stepSeconds }: { scrapeSeconds: number; stepSeconds: number },
) {
  return expr.replaceAll('$__rate_interval', `${Math.max(stepSeconds + scrapeSeconds, 4 * scrapeSeconds)}s`);
}
