/**
 * Regression, issue 10 item 7c: "a connection opened before the sidecar learned of its peer stays
 * unnamed for its whole life". The destination workload was resolved once per connection, and
 * sidecars learn about other pods every 2 s, so a keep-alive connection to a pod that had just
 * started never got its `dstWorkload` (tap --to missed it, top showed a bare address). Names are
 * now looked up when events (and metrics) are made.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { openTapStream, type TapEvent } from '../tap-protocol/index.js';
import type { TapApiServer } from '../tap-api/index.js';
import { REGISTRATION_TOKEN, registerSidecar, startFixtureTapApi, writeTapApiFixtures } from './tap-api-fixtures.js';
import { httpGet } from './support/metrics-scrape.js';
import { until } from './support/until.js';

let dir: string;
let tapApi: TapApiServer;
let app: http.Server;
let callee: Sidecar;
let caller: Sidecar;

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  tapApi = await startFixtureTapApi(f.rbacDir);
  app = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  // The callee's sidecar does not register (yet): nobody knows the workload behind its address.
  callee = await startSidecar({
    forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (app.address() as AddressInfo).port } }],
    identity: { workload: 'deploy/late', namespace: 'shop', pod: 'late-0' },
    engine: PROJECT_ENGINE,
  });
  const at = callee.listeners[0]!.address;
  caller = await startSidecar({
    forwards: [{ proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: Number(at.slice(at.lastIndexOf(':') + 1)) } }],
    admin: { host: '127.0.0.1', port: 0 },
    tap: { host: '127.0.0.1', port: 0 },
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-0' },
    engine: PROJECT_ENGINE,
    tapApi: tapApi.url,
    tapApiToken: REGISTRATION_TOKEN,
  });
  await until('the caller registered', () => tapApi.registry.list().length >= 1, 5_000);
}, 30_000);

afterAll(async () => {
  await caller?.close();
  await callee?.close();
  await new Promise((r) => app?.close(r));
  await tapApi?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('issue 10 item 7c: names are resolved when events are made', () => {
  it('a keep-alive connection opened before its peer registered gets dstWorkload once the peer is known', async () => {
    const stream = openTapStream(caller.tapAddress!, { matches: [], bodies: false });
    const ends: TapEvent[] = [];
    const collecting = (async () => {
      for await (const m of stream.messages) if (m.type === 'event' && m.event.kind === 'end') ends.push(m.event);
    })().catch(() => undefined);
    await until('the tap subscription is live', () => caller.hub.count > 0);
    const client = new Client(`http://${caller.listeners[0]!.address}`, { pipelining: 1, keepAliveTimeout: 60_000 });
    const get = async (path: string) => (await client.request({ path, method: 'GET' })).body.text();
    try {
      for (let i = 0; i < 3; i++) await get(`/before/${i}`);
      // The peer registers now (what its sidecar's registration sends), and the caller hears of it
      // on its next heartbeat (every 2 s).
      expect(await registerSidecar(tapApi.url, { workload: 'deploy/late', namespace: 'shop', pod: 'late-0', tapAddress: '127.0.0.1:1', inboundAddresses: [callee.listeners[0]!.address] })).toBe(200);
      await until('the caller heard of deploy/late on a heartbeat', () => caller.peers.lookup(callee.listeners[0]!.address)?.workload === 'deploy/late', 10_000);
      for (let i = 0; i < 3; i++) await get(`/after/${i}`);
      await until('six end events', () => ends.length >= 6, 5_000);
    } finally {
      await client.close();
      stream.cancel();
      await collecting;
    }
    expect(ends.map((e) => e.path)).toEqual(['/before/0', '/before/1', '/before/2', '/after/0', '/after/1', '/after/2']);
    // one connection for all six
    expect(new Set(ends.map((e) => e.id.split('.')[0])).size).toBe(1);
    expect(ends.slice(0, 3).every((e) => e.dstWorkload === undefined)).toBe(true);
    expect(ends.slice(3).map((e) => [e.dstWorkload, e.dstNamespace])).toEqual([
      ['deploy/late', 'shop'],
      ['deploy/late', 'shop'],
      ['deploy/late', 'shop'],
    ]);
    // The metrics name it too, for every request of the connection (names are given at scrape).
    const metrics = await httpGet(caller.adminAddress!, "/metrics");
    const routeLines = metrics.body.split('\n').filter((l) => l.startsWith('route_response_total{') && l.includes('direction="outbound"'));
    expect(routeLines.length).toBe(2); // /before/{id} and /after/{id}
    expect(routeLines.every((l) => l.includes('dst_workload="deploy/late"') && l.includes('dst_namespace="shop"'))).toBe(true);
  }, 30_000);
});
