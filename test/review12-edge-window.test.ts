/**
 * review12: the tap API's edge history (what `meshtap edges`, `routes`, `stat --to` and the
 * dashboard's service map and workload routes read) answered counts over a longer span than the
 * window it divided them by. Its thinning walked from the newest snapshot and dropped every one
 * less than a step younger, so with rounds closer than a step (a query's round between two
 * background ones: the dashboard polls every 10 s, the background every 10 s) only the newest ever
 * stayed and the window's base fell behind: `edges -t 10s` on the demo read 11.7, 13.9 … 23.3 rps
 * for 5 requests a second (and from the start, with rounds closer than a step, nothing at all). Here
 * a real /metrics endpoint counts exactly 200 a second and the
 * history (a round every second here) is asked every 250 ms, as busy dashboards would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeHistory, type EdgeHistory } from '../tap-api/edges/history.js';

const PER_SECOND = 200;
const WINDOW_MS = 3_000;

describe('edge history: rates over the window asked, however often it is asked', () => {
  let metrics: http.Server;
  let history: EdgeHistory;
  const t0 = Date.now();
  beforeAll(async () => {
    // A sidecar far older than the window whose route counter grows by exactly PER_SECOND.
    metrics = http.createServer((_req, res) => {
      const n = Math.floor(((Date.now() - t0) * PER_SECOND) / 1000);
      res.end(
        `# TYPE meshtap_start_time_seconds gauge\nmeshtap_start_time_seconds ${Math.floor(t0 / 1000) - 3600}\n` +
          `# TYPE route_response_total counter\nroute_response_total{direction="inbound",route="/api",method="GET",status_code="200",classification="success"} ${n}\n`,
      );
    });
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    const adminAddress = `127.0.0.1:${(metrics.address() as AddressInfo).port}`;
    history = createEdgeHistory({ list: async () => [{ key: 'shop/api-0', adminAddress }], intervalMs: 1_000, freshMs: 0 });
  });
  afterAll(async () => {
    history?.close();
    await new Promise((r) => metrics?.close(r));
  });

  it('keeps the rate and the window it reports exact while queries come every 250 ms', async () => {
    const rates: number[] = [];
    const windows: number[] = [];
    const end = Date.now() + 9_000;
    while (Date.now() < end) {
      const w = await history.window(WINDOW_MS);
      const count = w.samples.filter((s) => s.name === 'route_response_total').reduce((a, s) => a + s.value, 0);
      if (Date.now() - t0 > WINDOW_MS + 1_000) {
        rates.push(count / (w.windowMs / 1000));
        windows.push(w.windowMs);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(rates.length).toBeGreaterThan(5);
    // A step is 900 ms here: the base is about half a step from the window's start either way
    // (more when a loaded machine delays a round); the rate is over the span reported (a loaded
    // machine's delay between a round's start and the answer it reads shows as a few per cent).
    for (const ms of windows) {
      expect(ms).toBeGreaterThan(WINDOW_MS / 2);
      expect(ms).toBeLessThan(WINDOW_MS * 2.5);
    }
    for (const r of rates) expect(Math.abs(r - PER_SECOND) / PER_SECOND).toBeLessThan(0.12);
  }, 30_000);
});
