import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, expandQuery, readDashboard } from '@gozon/testkit';

// The observability profile's configuration, checked by Prometheus's own tool
// (promtool ships with Debian's prometheus package): both Prometheus
// configurations, every query of the Grafana dashboard (as recording rules,
// which promtool parses), and the provisioning that ties them together.

const config = suite('the observability configuration');
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

const dashboard = readDashboard();

function promtool(args: string[]) {
  const run = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

for (const file of ['observability/prometheus/native.yml', 'observability/prometheus/compose.yml']) {
  config(`promtool finds ${file} valid`, () => {
    const check = promtool(['check', 'config', join(REPO_ROOT, file)]);
    assert.is(check.code, 0, check.output);
  });
}

config('every query of the Gozon dashboard is valid PromQL (promtool check rules)', () => {
  // As Grafana sends them, with the data source's scrape interval (5 s) and a step of 15 s.
  const expressions = dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => expandQuery(target.expr, { scrapeSeconds: 5, stepSeconds: 15 })),
  );
  assert.ok(expressions.length >= 10, `${expressions.length} queries`);
  const dir = mkdtempSync(join(tmpdir(), 'gozon-dashboard-'));
  try {
    const rules = {
      groups: [
        { name: 'dashboard', rules: expressions.map((expr, i) => ({ record: `gozon:dashboard_query:${i}`, expr })) },
      ],
    };
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
    const check = promtool(['check', 'rules', join(dir, 'rules.json')]);
    assert.is(check.code, 0, check.output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

config('the dashboard loads from the provisioned folder and queries the provisioned data source', () => {
  assert.is(dashboard.title, 'Gozon');
  const sources = parse(read('observability/grafana/provisioning/datasources/prometheus.yml')) as {
    datasources: Array<{ uid: string; url: string }>;
  };
  const [source] = sources.datasources;
  assert.is(source?.url, 'http://prometheus:9090');
  for (const panel of dashboard.panels) {
    assert.is(panel.datasource.uid, source!.uid, panel.title);
    for (const target of panel.targets) assert.is(target.datasource.uid, source!.uid, panel.title);
  }
  const providers = parse(read('observability/grafana/provisioning/dashboards/gozon.yml')) as {
    providers: Array<{ options: { path: string } }>;
  };
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, { volumes?: string[] }> };
  const mounts = compose.services.grafana?.volumes ?? [];
  assert.ok(
    mounts.includes(`./observability/grafana/dashboards:${providers.providers[0]!.options.path}:ro`),
    mounts.join(', '),
  );
  assert.ok(mounts.includes('./observability/grafana/provisioning:/etc/grafana/provisioning:ro'));
  assert.ok(
    (compose.services.prometheus?.volumes ?? []).includes(
      './observability/prometheus/compose.yml:/etc/prometheus/prometheus.yml:ro',
    ),
  );
});

config.run();
