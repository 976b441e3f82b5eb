/**
 * The native worker polls a little before it blocks (native/src/core/busy-poll.h) so that, under a
 * steady stream of small exchanges, its peers do not pay for waking an idle CPU at every request.
 * What must hold whatever the timing: polling never changes a byte, and a worker whose traffic
 * stopped blocks again (the window shrinks away) instead of spinning: an idle sidecar burns no CPU.
 * A bug here would be silent (bytes still flow) and costly (a core per sidecar), hence this test.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, startNativeEngine, type NativeRecordHandler } from '../native/index.js';

const ignore = new Proxy({}, { get: () => () => undefined }) as NativeRecordHandler;
const BODY = Buffer.alloc(100, 'x');

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function startOrigin(): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(BODY));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
  server.unref();
  return (server.address() as { port: number }).port;
}

/** `n` keep-alive requests on each of `conns` connections, back to back; every answer checked. */
async function burst(port: number, conns: number, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  cleanups.push(() => agent.destroy());
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (Buffer.concat(chunks).equals(BODY) ? resolve() : reject(new Error('body changed'))));
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: conns }, async () => {
      for (let i = 0; i < n; i++) await one();
    }),
  );
}

describe.skipIf(!isNativeAvailable())('native worker busy polling', () => {
  it('forwards exactly while polling, and an idle worker blocks again: no CPU burnt after the traffic stops', async () => {
    const origin = await startOrigin();
    const engine = startNativeEngine({ threads: 1, observe: false, busyPollUs: 200 }, ignore);
    cleanups.push(() => engine.close());
    const address = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: origin, dst: `127.0.0.1:${origin}` });
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    await burst(port, 8, 200);
    // Let the worker's last window run out, then watch this process (the worker is one of its
    // threads) for a second in which nothing happens. A worker stuck polling would burn ~1 s.
    await new Promise((r) => setTimeout(r, 100));
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(250);
  }, 60_000);
});
