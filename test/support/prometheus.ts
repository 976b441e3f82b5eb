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
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
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
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited at start: ${logs}`);
    }
    const r = await httpGet(address, '/-/ready').catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30s: ${logs}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }

  return {
    address,
    query,
    async waitFor(promql, ok, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last: PromSeries[] = [];
      for (;;) {
        last = await query(promql);
        if (ok(last)) return last;
        if (Date.now() > until) throw new Error(`prometheus: ${promql} still ${JSON.stringify(last)} after ${timeoutMs}ms; logs: ${logs}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    async targets() {
      return ((await api('/api/v1/targets')) as { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> }).activeTargets;
    },
    logs: () => logs,
    stop,
  };
}
