/**
 * Issue 13, "the JS thread does no per-request work when nobody taps": under the native engine
 * HTTP/1 exchanges are counted and recorded in C++, and cross to JS as records only while a tap
 * subscriber is attached (`setTapped`), decided per exchange at its request head. Real sockets:
 * a node:http server behind the engine's forward listener, keep-alive requests through it; the
 * records JS receives are counted by kind, and the C++ metrics and recorder are read as /metrics
 * and history would read them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, startNativeEngine, type NativeRecordHandler } from '../native/index.js';

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Counts records by handler method. */
function countingHandler(): { handler: NativeRecordHandler; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const handler = new Proxy({}, { get: (_t, name: string) => () => void counts.set(name, (counts.get(name) ?? 0) + 1) }) as NativeRecordHandler;
  return { handler, counts };
}

async function get(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!isNativeAvailable())('native engine: HTTP/1 exchanges reach JS only while someone taps', () => {
  it('counts and records every exchange in C++, and sends JS exchange records only for those begun while tapped', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/fail') res.statusCode = 503;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const target = (server.address() as AddressInfo).port;

    const { handler, counts } = countingHandler();
    const engine = startNativeEngine({ threads: 1, observe: true }, handler);
    cleanups.push(() => engine.close());
    const address = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: target, dst: `127.0.0.1:${target}` });
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());

    for (let i = 0; i < 20; i++) expect(await get(agent, port, `/users/${i}`)).toBe(200);
    engine.flush();
    // Not even the connection is announced while nobody taps (counted in C++ instead).
    for (const kind of ['open', 'detected', 'requestHead', 'responseHead', 'exchangeEnd', 'data']) expect(counts.get(kind) ?? 0, kind).toBe(0);
    expect(engine.counters().protocolDetected.get('h1')).toBe(1);

    engine.setTapped(true);
    for (let i = 0; i < 3; i++) await get(agent, port, '/fail');
    engine.flush();
    expect([counts.get('open'), counts.get('detected')]).toEqual([1, 1]); // announced before its first tapped exchange
    expect(counts.get('requestHead')).toBe(3);
    expect(counts.get('responseHead')).toBe(3);
    expect(counts.get('exchangeEnd')).toBe(3);

    engine.setTapped(false);
    await get(agent, port, '/users/99');
    engine.flush();
    expect(counts.get('exchangeEnd')).toBe(3);

    // Every exchange, tapped or not, in the C++ metrics and recorder.
    const m = engine.httpMetrics();
    expect(m.routes.map((r) => [r.direction, r.target, r.requests])).toEqual([['inbound', `127.0.0.1:${target}`, 24]]);
    expect(m.routes[0]!.responses.map((r) => [r.status, r.failure, r.count]).sort()).toEqual([[200, false, 21], [503, true, 3]]);
    expect(m.peers[0]!.records.map((r) => [r.method, r.route, r.success, r.failure]).sort()).toEqual([['GET', '/fail', 0, 3], ['GET', '/users/{id}', 21, 0]]);
    const history = engine.recorderQuery();
    expect(history.length).toBe(24);
    expect(history.get(23).requestHead.startsWith('GET /users/99 HTTP/1.1\r\n')).toBe(true);
    expect(engine.recorderStats()).toMatchObject({ count: 24, evicted: 0 });
  });
});
