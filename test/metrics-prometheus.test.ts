/**
 * /metrics as a real Prometheus sees it: the sidecar process serves HTTP/1 traffic with mixed
 * statuses, a real `prometheus` (Debian package) scrapes its admin port every second, and the
 * test queries `response_total` & co. back through Prometheus's HTTP API — Linkerd's names,
 * labels and classification, parsed without a scrape error. Also: label sets stay bounded
 * under a flood of distinct authorities.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { hasBinary } from './support/ports.js';
import { startPrometheus, type Prometheus, type PromSeries } from './support/prometheus.js';

const HAS_PROMETHEUS = hasBinary('prometheus');

let origin: http.Server;
let sidecar: SidecarProcess;
let prom: Prometheus | undefined;
let target: string;

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const status = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  target = `127.0.0.1:${(origin.address() as AddressInfo).port}`;
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=${target}`, '--admin', '127.0.0.1:0',
    '--workload', 'deploy/web', '--namespace', 'shop', '--pod', 'web-5d4f-abc',
  ]);
  if (HAS_PROMETHEUS) prom = await startPrometheus([sidecar.admin!]);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await sidecar?.stop();
  await new Promise((resolve) => origin?.close(resolve));
});

function request(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: sidecar.forwards[0].port, path, headers: { host: 'web.shop.svc:8080' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

const byStatus = (r: PromSeries[]) => Object.fromEntries(r.map((s) => [`${s.metric.status_code}/${s.metric.classification}`, Number(s.value[1])]));

describe('metrics scraped by a real Prometheus', () => {
  it('admin answers /ready, /live and 404 elsewhere', async () => {
    expect((await httpGet(sidecar.admin!, '/ready')).status).toBe(200);
    expect((await httpGet(sidecar.admin!, '/live')).status).toBe(200);
    expect((await httpGet(sidecar.admin!, '/nope')).status).toBe(404);
  });

  it.skipIf(!HAS_PROMETHEUS)('response_total, request_total and the latency histogram come back through PromQL with Linkerd labels', async () => {
    const statuses = [200, 200, 200, 404, 404, 503];
    for (const s of statuses) expect(await request(`/status/${s}`)).toBe(s);
    const p = prom!;
    const r = await p.waitFor('sum by (status_code, classification) (response_total{direction="inbound"})', (res) => res.reduce((n, s) => n + Number(s.value[1]), 0) >= statuses.length);
    expect(byStatus(r)).toEqual({ '200/success': 3, '404/success': 2, '503/failure': 1 });

    const series = await p.query('response_total{status_code="503"}');
    expect(series).toHaveLength(1);
    expect(series[0].metric).toMatchObject({
      __name__: 'response_total', job: 'meshtap', instance: sidecar.admin!,
      direction: 'inbound', authority: 'web.shop.svc:8080', target_addr: target,
      status_code: '503', classification: 'failure',
      namespace: 'shop', deployment: 'web', pod: 'web-5d4f-abc',
    });
    // An empty label is no label to Prometheus: HTTP responses carry no grpc_status.
    expect(series[0].metric.grpc_status).toBeUndefined();
    const requests = await p.waitFor('sum(request_total{authority="web.shop.svc:8080"})', (res) => Number(res[0]?.value[1]) >= statuses.length);
    expect(Number(requests[0].value[1])).toBe(statuses.length);
    const latencyCount = await p.query('sum(response_latency_ms_count{direction="inbound"})');
    expect(Number(latencyCount[0].value[1])).toBe(statuses.length);
    // Every latency is below the largest bucket, and the buckets are Linkerd's.
    const inf = await p.query('sum(response_latency_ms_bucket{le="+Inf"}) - sum(response_latency_ms_bucket{le="50000"})');
    expect(Number(inf[0].value[1])).toBe(0);
    const tcp = await p.query('sum(tcp_open_total{direction="inbound", peer="src"})');
    expect(Number(tcp[0].value[1])).toBe(statuses.length);
    const targets = await p.targets();
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
  }, 60_000);
});

describe('metric label sets are bounded', () => {
  it('a flood of distinct Host headers folds into authority="overflow" past 1000 and counts the bound', async () => {
    const flooded = await startSidecarProcess(['--forward', `127.0.0.1:0=${target}`, '--admin', '127.0.0.1:0']);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      const total = 1010;
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < total) {
            const i = next++;
            await new Promise<void>((resolve, reject) => {
              http
                .get({ host: '127.0.0.1', port: flooded.forwards[0].port, path: '/', headers: { host: `h${i}.flood.test` }, agent }, (res) => {
                  res.resume();
                  res.on('end', () => resolve());
                })
                .on('error', reject);
            });
          }
        }),
      );
      agent.destroy();
      const samples = await scrape(flooded.admin!);
      const authorities = new Set(samples.filter((x) => x.name === 'request_total').map((x) => x.labels.authority));
      expect(authorities.size).toBe(1001);
      expect(authorities.has('overflow')).toBe(true);
      expect(sumMetric(samples, 'request_total')).toBe(total);
      expect(sumMetric(samples, 'request_total', { authority: 'overflow' })).toBe(total - 1000);
      expect(sumMetric(samples, 'response_total', { authority: 'overflow' })).toBe(total - 1000);
      expect(sumMetric(samples, 'meshtap_bound_hit_total', { bound: 'metric-authorities' })).toBeGreaterThanOrEqual(total - 1000);
    } finally {
      await flooded.stop();
    }
  }, 90_000);
});
