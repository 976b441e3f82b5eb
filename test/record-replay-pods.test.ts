/**
 * Regression (replay merged connections across pods): exchange ids (`<connection>.<stream>`)
 * are per sidecar, so a recording of deploy/web's two pods holds `1.1` twice. Replay grouped
 * exchanges by connection id alone and serialized pod web-2's HTTP/1 connection 1 behind pod
 * web-1's — wrong ordering and concurrency. Now a connection is (namespace, pod, id).
 *
 * A real HTTP/1 server holds each request until a second one is in flight (or a fallback
 * delay passes) and reports the most requests it saw at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionKeyOf, replayExchanges, type RecordedExchange } from '../record/index.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server answering each request once another is in flight too, or after `fallbackMs`. */
async function pairingServer(fallbackMs: number): Promise<{ url: string; maxInFlight(): number; paths: string[] }> {
  let inFlight = 0;
  let max = 0;
  const waiting: Array<() => void> = [];
  const paths: string[] = [];
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    inFlight++;
    max = Math.max(max, inFlight);
    const answer = (): void => {
      inFlight--;
      res.end('ok');
    };
    if (inFlight >= 2) {
      for (const w of waiting.splice(0)) w();
      answer();
      return;
    }
    const t = setTimeout(() => {
      waiting.splice(waiting.indexOf(release), 1);
      answer();
    }, fallbackMs);
    const release = (): void => {
      clearTimeout(t);
      answer();
    };
    waiting.push(release);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxInFlight: () => max, paths };
}

const TS = '2026-01-01T00:00:00.000Z';
function exchange(pod: string, id: string, path: string, namespace = 'shop'): RecordedExchange {
  return {
    kind: 'end', id, ts: TS, proxy: 'in', src: '10.0.0.9:40000', dst: '10.0.0.1:8080', dstWorkload: 'deploy/web', dstNamespace: namespace, pod,
    protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path,
    requestHeaders: [['Host', 'web']], status: 200, responseHeaders: [['content-length', '2']], durationMs: 1, responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' },
  };
}

describe('replay keys connections by pod', () => {
  it('connection 1 of web-1 and connection 1 of web-2 run side by side (ids collide across pods)', async () => {
    const s = await pairingServer(5_000);
    const results = await replayExchanges([exchange('web-1', '1.1', '/from-web-1'), exchange('web-2', '1.1', '/from-web-2')], { target: s.url, timing: { mode: 'max' } });
    expect(results.map((r) => [r.pod, r.id, r.outcome])).toEqual(
      expect.arrayContaining([['web-1', '1.1', 'match'], ['web-2', '1.1', 'match']]),
    );
    expect(s.maxInFlight()).toBe(2);
  }, 30_000);

  it('one pod\'s HTTP/1 connection still sends one request at a time, in recorded order', async () => {
    const s = await pairingServer(300);
    const same = [exchange('web-1', '1.1', '/first'), { ...exchange('web-1', '1.3', '/second'), ts: '2026-01-01T00:00:00.010Z' }];
    const results = await replayExchanges(same, { target: s.url, timing: { mode: 'max' } });
    expect(results.map((r) => r.outcome)).toEqual(['match', 'match']);
    expect(s.maxInFlight()).toBe(1);
    expect(s.paths).toEqual(['/first', '/second']);
  }, 30_000);

  it('the same pod name in two namespaces is two connections', () => {
    const a = exchange('web-1', '7.1', '/', 'shop');
    expect(connectionKeyOf(a)).toBe(connectionKeyOf({ ...a, id: '7.3' }));
    expect(connectionKeyOf(a)).not.toBe(connectionKeyOf({ ...a, dstNamespace: 'other' }));
    expect(connectionKeyOf(a)).not.toBe(connectionKeyOf({ ...a, pod: 'web-2' }));
    const out = { ...a, proxy: 'out' as const, srcNamespace: 'shop', dstNamespace: 'payments' };
    expect(connectionKeyOf(out)).toBe(connectionKeyOf({ ...out, dstNamespace: 'other' }));
  });
});
