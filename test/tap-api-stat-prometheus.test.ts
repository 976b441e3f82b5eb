/**
 * `meshtap stat --prometheus`: a real Prometheus scrapes a real sidecar; stat's PromQL must give
 * the same kind of answer the scrape mode gives (success rate, RPS, percentiles, meshed pods).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, hasBinary } from './support/ports.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

const HAS_PROMETHEUS = hasBinary('prometheus');

describe.skipIf(!HAS_PROMETHEUS)('stat --prometheus (needs the prometheus binary)', () => {
  let dir: string;
  let backend: Server;
  let sidecar: SidecarProcess;
  let prom: ChildProcess | undefined;
  let promUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-prom-'));
    backend = createServer((req, res) => {
      res.writeHead(req.url === '/fail' ? 500 : 200);
      res.end('ok');
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--workload', 'deploy/web', '--namespace', 'shop', '--pod', 'web-1']);
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n- job_name: meshtap\n  static_configs: [{targets: ['${sidecar.admin}']}]\n`,
    );
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], {
      stdio: 'ignore',
    });
  }, 60_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGKILL');
      await exited;
    }
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports success rate, RPS and latency for deploy/web from PromQL', async () => {
    let stop = false;
    // Steady traffic for as long as the test runs (the pause paces it; it waits for nothing).
    const traffic = (async () => {
      while (!stop) {
        for (const path of ['/ok', '/ok', '/ok', '/fail']) {
          const r = await fetch(`http://${sidecar.forwards[0]!.address}${path}`).catch(() => undefined);
          await r?.text();
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      // Prometheus has no "ready with data" event: poll its API until the window holds traffic.
      const q = encodeURIComponent('sum(increase(response_total{direction="inbound",deployment="web"}[10s]))');
      await until('Prometheus to see the traffic', async () => {
        const body = await fetch(`${promUrl}/api/v1/query?query=${q}`)
          .then((r) => r.json() as Promise<{ data?: { result?: Array<{ value: [number, string] }> } }>)
          .catch(() => undefined);
        return Number(body?.data?.result?.[0]?.value[1] ?? 0) > 0;
      }, { timeoutMs: 90_000, intervalMs: 500 });
      const r = await runMeshtap(['stat', 'deploy/web', '-n', 'shop', '--prometheus', promUrl, '-t', '10s', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as Array<{ name: string; namespace: string; meshed: { ok: number }; successRate: number; rps: number; latencyMsP99: number }>;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ name: 'deploy/web', namespace: 'shop', meshed: { ok: 1 } });
      // 3 of every 4 requests succeed; Prometheus extrapolation keeps it near, not exact.
      expect(rows[0]!.successRate).toBeGreaterThan(0.6);
      expect(rows[0]!.successRate).toBeLessThan(0.9);
      expect(rows[0]!.rps).toBeGreaterThan(0);
      expect(rows[0]!.latencyMsP99).toBeGreaterThan(0);
      const table = await runMeshtap(['stat', 'deploy', '-n', 'shop', '--prometheus', promUrl, '-t', '10s']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/^shop\s+deploy\/web\s+1\/1\s+\d+\.\d\d%/m);
    } finally {
      stop = true;
      await traffic;
    }
  }, 150_000);
});
