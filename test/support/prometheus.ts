/**
 * A real Prometheus server for metrics tests: started on loopback with a config written by the
 * test (short scrape interval), TSDB in a temp dir, and a small client for its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { httpGet } from './metrics-scrape.js';
import { stopChild } from './stop-child.js';
import { until } from './until.js';

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  readonly address: string;
  /** Instant query; resolves with the result vector. */
  query(promql: string): Promise<PromSeries[]>;
  /** Polls `query` until `ok(result)` holds (scrapes happen on their own schedule). */
  waitFor(promql: string, ok: (r: PromSeries[]) => boolean, timeoutMs?: number): Promise<PromSeries[]>;
  targets(): Promise<Array<{ health: string; lastError: string; scrapeUrl: string }>>;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts `prometheus` scraping `targets` (host:port) every `scrapeIntervalS` seconds. */
export async function startPrometheus(targets: string[], scrapeIntervalS = 1): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'meshtap-prom-'));
  const config = [
    'global:',
    `  scrape_interval: ${scrapeIntervalS}s`,
    `  scrape_timeout: ${scrapeIntervalS}s`,
    'scrape_configs:',
    '  - job_name: meshtap',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${address}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (logs += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (logs += t));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const stop = async () => {
    await stopChild(child, exit);
    await rm(dir, { recursive: true, force: true });
  };

  const api = async (path: string): Promise<unknown> => {
    const r = await httpGet(address, path);
    const body = JSON.parse(r.body) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? r.body}`);
    return body.data;
  };
  const query = async (promql: string) => ((await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as { result: PromSeries[] }).result;

  // Ready when its API answers.
  try {
    await until('prometheus ready', async () => {
      if (exited) throw new Error(`prometheus exited at start: ${logs}`);
      return (await httpGet(address, '/-/ready').catch(() => undefined))?.status === 200;
    }, { timeoutMs: 30_000, intervalMs: 100, detail: () => logs });
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    address,
    query,
    async waitFor(promql, ok, timeoutMs = 30_000) {
      let last: PromSeries[] = [];
      await until(`prometheus: ${promql}`, async () => ok((last = await query(promql))), { timeoutMs, intervalMs: 250, detail: () => `still ${JSON.stringify(last)}; logs: ${logs}` });
      return last;
    },
    async targets() {
      return ((await api('/api/v1/targets')) as { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> }).activeTargets;
    },
    logs: () => logs,
    stop,
  };
}
