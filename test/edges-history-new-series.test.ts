/**
 * sec10 noted that routes/edges miss a route series that first appears mid-window until it grows
 * again. The miss was Prometheus's `increase()` (test/edges-prometheus); the tap API's own history
 * (tap-api/edges/history.ts) counts a series absent from the window's base from zero. This holds
 * it so, on both engines: a sidecar older than the window, an established route, then a route's
 * first request, read at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { createEdgeHistory, type EdgeHistory } from '../tap-api/edges/history.js';
import { ENGINES } from './support/engines.js';

const WINDOW_MS = 2_000;

describe.each(ENGINES)('edge history: a route series that first appears mid-window (%s engine)', (engine) => {
  let app: http.Server;
  let sidecar: Sidecar;
  let history: EdgeHistory;
  beforeAll(async () => {
    app = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    sidecar = await startSidecar({
      engine,
      admin: { host: '127.0.0.1', port: 0 },
      forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (app.address() as AddressInfo).port } }],
      identity: { workload: 'deploy/api', namespace: 'shop', pod: 'api-0' },
    });
    history = createEdgeHistory({ list: async () => [{ key: 'shop/api-0', adminAddress: sidecar.adminAddress! }], intervalMs: 300, freshMs: 0 });
  });
  afterAll(async () => {
    history?.close();
    await sidecar?.close();
    await new Promise((r) => app?.close(r));
  });
  const get = async (path: string): Promise<void> => (await request(`http://${sidecar.listeners[0]!.address}${path}`)).body.dump();
  const counts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const s of (await history.window(WINDOW_MS)).samples) if (s.name === 'route_response_total') out[s.labels.route!] = (out[s.labels.route!] ?? 0) + s.value;
    return out;
  };

  it('shows at its first read, with its count; an established one counts only the window', async () => {
    await get('/a');
    // The sidecar and /a are older than the window now (history reads every 300 ms meanwhile).
    await new Promise((r) => setTimeout(r, WINDOW_MS + 2_000));
    expect(await counts()).toEqual({});
    await get('/a');
    await get('/b');
    expect(await counts()).toEqual({ '/a': 1, '/b': 1 });
  }, 30_000);
});
