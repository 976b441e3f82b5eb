/**
 * review13: the tap API's edge history (what `meshtap edges`, `routes`, `stat --to` and the
 * dashboard's service map and workload routes read) summed only the sidecars that answered the
 * window's own round. A pod that left inside the window (a rollout, a scale-down) lost all its
 * counts of the window, and a sidecar that restarted inside it was counted from its restart only,
 * while the answer's window stayed the full span the other pods covered: a deployment of two pods
 * at 100 requests a second each read 150 rps for the whole window after one pod was replaced (or
 * restarted) half-way through it. Here real /metrics endpoints count exactly 100 a second each.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createEdgeHistory, type EdgeHistory, type ScrapeTarget } from '../tap-api/edges/history.js';

const PER_SECOND = 100;
const WINDOW_MS = 4_000;
const INTERVAL_MS = 500;

/** A sidecar process's /metrics: started at `startMs`, one route counting PER_SECOND from then. */
interface FakeSidecar {
  key: string;
  adminAddress: string;
  /** Starts counting again from zero, as a restarted sidecar does (a new start time). */
  restart(): void;
  close(): Promise<void>;
}

const servers: http.Server[] = [];

async function fakeSidecar(key: string, startMs: number): Promise<FakeSidecar> {
  let start = startMs;
  const server = http.createServer((_req, res) => {
    const n = Math.floor(((Date.now() - start) * PER_SECOND) / 1000);
    res.end(
      `# TYPE meshtap_start_time_seconds gauge\nmeshtap_start_time_seconds ${start / 1000}\n` +
        `# TYPE route_response_total counter\nroute_response_total{direction="inbound",route="/api",method="GET",classification="success",pod="${key}"} ${n}\n` +
        `# TYPE tcp_open_connections gauge\ntcp_open_connections{direction="inbound",pod="${key}"} 1\n`,
    );
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    key,
    adminAddress: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    restart: () => void (start = Date.now()),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rateOver(history: EdgeHistory): Promise<{ rps: number; windowMs: number; connections: number }> {
  const w = await history.window(WINDOW_MS);
  const count = w.samples.filter((s) => s.name === 'route_response_total').reduce((a, s) => a + s.value, 0);
  const connections = w.samples.filter((s) => s.name === 'tcp_open_connections').reduce((a, s) => a + s.value, 0);
  return { rps: count / (w.windowMs / 1000), windowMs: w.windowMs, connections };
}

describe('edge history: pods that left or restarted inside the window keep their counts', () => {
  let history: EdgeHistory | undefined;
  afterAll(async () => {
    history?.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('counts a replaced pod up to its last answer (a rollout): two pods at 100/s read 200 rps', async () => {
    const longAgo = Date.now() - 3_600_000;
    const steady = await fakeSidecar('shop/api-1', longAgo);
    const old = await fakeSidecar('shop/api-2', longAgo);
    let listed: FakeSidecar[] = [steady, old];
    history = createEdgeHistory({ list: async (): Promise<ScrapeTarget[]> => listed.map((s) => ({ key: s.key, adminAddress: s.adminAddress })), intervalMs: INTERVAL_MS, freshMs: 0 });
    await sleep(WINDOW_MS + 1_000); // both older than the window in the history too
    // api-2 is replaced by api-3 (a new pod, counting from its start) half-way through the window,
    // right after a round (a query makes one) so its last answer is that moment's, however loaded
    // the machine: what it counted after its last answer is lost by design.
    await history.window(WINDOW_MS);
    const fresh = await fakeSidecar('shop/api-3', Date.now());
    listed = [steady, fresh];
    await old.close();
    await sleep(WINDOW_MS / 2);
    const r = await rateOver(history);
    // Before: api-2's counts of the window were dropped: 150 rps.
    expect(Math.abs(r.rps - 2 * PER_SECOND) / (2 * PER_SECOND)).toBeLessThan(0.12);
    expect(r.windowMs).toBeGreaterThan(WINDOW_MS / 2);
    // Gauges are what is open now: the pod that left holds nothing.
    expect(r.connections).toBe(2);
    history.close();
    history = undefined;
  }, 30_000);

  it('counts a sidecar that restarted before and after its restart: two pods at 100/s read 200 rps', async () => {
    const longAgo = Date.now() - 3_600_000;
    const steady = await fakeSidecar('shop/web-1', longAgo);
    const restarting = await fakeSidecar('shop/web-2', longAgo);
    history = createEdgeHistory({ list: async (): Promise<ScrapeTarget[]> => [steady, restarting].map((s) => ({ key: s.key, adminAddress: s.adminAddress })), intervalMs: INTERVAL_MS, freshMs: 0 });
    await sleep(WINDOW_MS + 1_000);
    await history.window(WINDOW_MS); // a round just before the restart (see above)
    restarting.restart();
    await sleep(WINDOW_MS / 2);
    const r = await rateOver(history);
    // Before: web-2 counted from its restart only: 150 rps.
    expect(Math.abs(r.rps - 2 * PER_SECOND) / (2 * PER_SECOND)).toBeLessThan(0.12);
    expect(r.connections).toBe(2);
  }, 30_000);
});
