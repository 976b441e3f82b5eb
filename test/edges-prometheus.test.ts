/**
 * `meshtap edges --prometheus URL` and `meshtap routes --prometheus URL` (issue 15): a real
 * Prometheus scrapes real sidecars (registered with a real tap API, so their series name their
 * peers at scrape), and the CLI's PromQL gives the true edges and routes. Prometheus's
 * `increase()` sees only what happened after a series' first scrape, and extrapolates to the
 * window's edges, so the test warms each edge up first and reads counts as estimates.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import type { EdgeList, RouteList, TapApiServer } from '../tap-api/index.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, writeTapApiFixtures } from './tap-api-fixtures.js';
import { runMeshtap } from './support/meshtap-process.js';
import { hasBinary } from './support/ports.js';
import { startPrometheus, type Prometheus } from './support/prometheus.js';
import { until } from './support/until.js';
import { PROJECT_ENGINE } from './support/engines.js';

const SENT = { webToApi: 6, unmeshedToApi: 4 };
const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

describe.skipIf(!hasBinary('prometheus'))('edges and routes with --prometheus (needs the prometheus binary)', () => {
  let dir: string;
  let tapApi: TapApiServer;
  let app: http.Server;
  let api: Sidecar;
  let web: Sidecar;
  let prom: Prometheus;

  const sum = async (promql: string): Promise<number> => Number((await prom.query(promql))[0]?.value[1] ?? 0);

  beforeAll(async () => {
    const f = await writeTapApiFixtures();
    dir = f.dir;
    tapApi = await startFixtureTapApi(f.rbacDir);
    app = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const common = { engine: PROJECT_ENGINE, admin: { host: '127.0.0.1', port: 0 }, tap: { host: '127.0.0.1', port: 0 }, tapApi: tapApi.url, tapApiToken: REGISTRATION_TOKEN };
    api = await startSidecar({
      ...common,
      forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (app.address() as AddressInfo).port } }],
      identity: { workload: 'deploy/api', namespace: 'shop', pod: 'api-0' },
    });
    web = await startSidecar({ ...common, forwards: [{ proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: hostPort(api.listeners[0]!.address) }], identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-0' } });
    await until('two sidecars registered', () => tapApi.registry.list().length >= 2, 10_000);
    prom = await startPrometheus([web.adminAddress!, api.adminAddress!]);
    const viaWeb = `http://${web.listeners[0]!.address}`;
    const direct = `http://${api.listeners[0]!.address}`;
    // Warm up: each series exists (and has been scraped, with its peer's name) before the counted traffic.
    await (await request(`${viaWeb}/users/1`)).body.dump();
    await (await request(`${direct}/health`)).body.dump();
    await prom.waitFor('route_response_total{direction="outbound",dst_workload="deploy/api"}', (r) => r.length === 1, 60_000);
    await prom.waitFor('route_response_total{direction="inbound",route="/health"}', (r) => r.length === 1, 60_000);
    for (let i = 0; i < SENT.webToApi; i++) await (await request(`${viaWeb}/users/${100 + i}`)).body.dump();
    for (let i = 0; i < SENT.unmeshedToApi; i++) await (await request(`${direct}/health`)).body.dump();
    await prom.waitFor('sum(route_response_total{direction="outbound"})', (r) => Number(r[0]?.value[1]) === SENT.webToApi + 1, 60_000);
    await prom.waitFor('sum(route_response_total{direction="inbound",route="/health"})', (r) => Number(r[0]?.value[1]) === SENT.unmeshedToApi + 1, 60_000);
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all([web?.close(), api?.close()]);
    await tapApi?.close();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('edges: exactly the true edges, named from the series, with the counted traffic (an estimate)', async () => {
    expect(await sum('sum(route_response_total{direction="inbound",src_workload="deploy/web"})')).toBe(SENT.webToApi + 1); // api's view of web: named at scrape
    const r = await runMeshtap(['edges', 'deploy', '-n', 'shop', '-t', '5m', '--prometheus', `http://${prom.address}`, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as EdgeList;
    expect(list.source).toBe('prometheus');
    const got = list.items.map((e) => ({ src: e.src.meshed ? `${e.src.namespace}/${e.src.workload}` : e.src.address, dst: `${e.dst.namespace}/${e.dst.workload}`, by: e.observedBy, protocols: e.protocols, successRate: e.successRate }));
    expect(got).toEqual([
      { src: 'shop/deploy/web', dst: 'shop/deploy/api', by: 'outbound', protocols: ['http/1.1'], successRate: 1 },
      { src: 'unmeshed', dst: 'shop/deploy/api', by: 'inbound', protocols: ['http/1.1'], successRate: 1 },
    ]);
    // increase() counts from each series' first scrape and extrapolates toward the window's edges,
    // by at most 1.1 average scrape intervals on each side: with as few as two samples that is up to
    // (1 + 2 × 1.1) = 3.2 times what the samples saw (2× was too tight: 8.192 for 4 sent, in CI).
    const MAX_EXTRAPOLATION = 3.2;
    expect(list.items[0]!.requests).toBeGreaterThanOrEqual(SENT.webToApi);
    expect(list.items[0]!.requests).toBeLessThanOrEqual(SENT.webToApi * MAX_EXTRAPOLATION);
    expect(list.items[1]!.requests).toBeGreaterThanOrEqual(SENT.unmeshedToApi);
    expect(list.items[1]!.requests).toBeLessThanOrEqual(SENT.unmeshedToApi * MAX_EXTRAPOLATION);
  }, 60_000);

  it('routes: /users/{id} from PromQL, inbound and as called by web', async () => {
    const served = await runMeshtap(['routes', 'deploy/api', '-n', 'shop', '-t', '5m', '--prometheus', `http://${prom.address}`, '-o', 'json']);
    expect(served.code, served.stderr).toBe(0);
    const inbound = JSON.parse(served.stdout) as RouteList;
    expect(inbound.items.map((x) => `${x.method} ${x.route}`).sort()).toEqual(['GET /health', 'GET /users/{id}']);
    const called = await runMeshtap(['routes', 'deploy/web', '--to', 'deploy/api', '-n', 'shop', '-t', '5m', '--prometheus', `http://${prom.address}`, '-o', 'json']);
    expect(called.code, called.stderr).toBe(0);
    const outbound = JSON.parse(called.stdout) as RouteList;
    expect(outbound.direction).toBe('outbound');
    expect(outbound.items.map((x) => `${x.method} ${x.route}`)).toEqual(['GET /users/{id}']);
    expect(outbound.items[0]!.requests).toBeGreaterThanOrEqual(SENT.webToApi);
  }, 60_000);

  // Regression (sec10): a route whose series first appears inside the window was missing until it
  // grew again: increase() starts at a series' first sample, and the requests that created it were
  // never counted. A series created inside the window now counts its whole value.
  it('routes: a route called for the first time shows at its first scrape, with its count', async () => {
    await (await request(`http://${api.listeners[0]!.address}/orders/new`)).body.dump();
    await prom.waitFor('route_response_total{direction="inbound",route="/orders/new"}', (r) => r.length === 1, 60_000);
    const served = await runMeshtap(['routes', 'deploy/api', '-n', 'shop', '-t', '5m', '--prometheus', `http://${prom.address}`, '-o', 'json']);
    expect(served.code, served.stderr).toBe(0);
    const items = (JSON.parse(served.stdout) as RouteList).items.map((x) => ({ route: `${x.method} ${x.route}`, requests: x.requests }));
    expect(items).toContainEqual({ route: 'GET /orders/new', requests: 1 });
  }, 90_000);
});
