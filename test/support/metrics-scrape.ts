/**
 * Reads the sidecar's admin `/metrics` (Prometheus text format) the way a scraper does, and
 * sums series by name and label subset, so tests can assert that a counter moved.
 */
import * as http from 'node:http';
import { until } from './until.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GETs `http://ADMIN/PATH` and resolves with status and body. */
export function httpGet(admin: string, path: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${admin}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (body += t));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${admin}${path} timed out`)));
  });
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return labels;
}

/** Parses Prometheus text exposition into samples. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m) out.push({ name: m[1], labels: m[2] ? parseLabels(m[2]) : {}, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sumMetric(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Scrapes the admin server's /metrics. */
export async function scrape(admin: string): Promise<Sample[]> {
  const r = await httpGet(admin, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parseMetrics(r.body);
}

/** Scrapes until `ok(value)` holds for the summed metric (metrics are updated asynchronously to the traffic). */
export async function waitForMetric(admin: string, name: string, labels: Record<string, string>, ok: (v: number) => boolean, timeoutMs = 15_000): Promise<number> {
  let v = NaN;
  await until(`metric ${name}${JSON.stringify(labels)}`, async () => ok((v = sumMetric(await scrape(admin), name, labels))), { timeoutMs, intervalMs: 50, detail: () => `it is ${v}` });
  return v;
}
