// Reading what /metrics answers, for the tests' sums. Whether it is valid Prometheus
// text format is Prometheus's own parser's to say (`promtool check metrics`, in
// tests/system/prometheus.test.ts); this reads the sample lines that format defines
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details).

/** One sample line: `name{label="value",…} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition, and the metric families its `# TYPE` lines name. */
export function readExposition(text: string): { samples: Sample[]; families: string[] } {
  const samples: Sample[] = [];
  const families: string[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.push(type[1]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, families };
}

/** What the /metrics of some processes say, summed over them. */
export interface Scrape {
  /** The metric families any of them exposes (histograms by their base name). */
  families: Set<string>;
  /** Every sample, each with its `service` label. */
  samples: Sample[];
  /** The sum of the samples named `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  /** A histogram's observation count (its `_count` samples), summed the same way. */
  count(name: string, labels?: Record<string, string>): number;
}

/** Scrapes each of `urls` (…/metrics); rejects if one does not answer 200 in the text format. */
export async function scrapeMetrics(urls: string[]): Promise<Scrape> {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const url of urls) {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`${url} answered ${type}`);
    const read = readExposition(await response.text());
    samples.push(...read.samples);
    for (const family of read.families) families.add(family);
  }
  const sum = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
      .reduce((total, s) => total + s.value, 0);
  return { families, samples, sum, count: (name, labels) => sum(`${name}_count`, labels) };
}
