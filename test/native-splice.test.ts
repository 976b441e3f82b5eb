/**
 * splice(2) in the native engine (issue 13): opaque streams that keep filling the 64 KiB read
 * buffer move socket -> pipe -> socket through pipes borrowed from a bounded per-worker pool, and
 * fall back to read/write when the pool is exhausted (counted as bound "pipe-pool"). Every case
 * checks the bytes end to end (sha-256 both ways, half-close kept) and the engine's own count of
 * spliced bytes, so a test cannot pass on the read/write path by accident.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, startNativeEngine, type NativeEngine, type NativeExchangeEnd, type NativeRecordHandler } from '../native/index.js';

const MiB = 1024 * 1024;
// observe: false — no record ever arrives; every handler method is a no-op.
const ignore = new Proxy({}, { get: () => () => undefined }) as NativeRecordHandler;

let cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A server that sends `down` and half-closes once it has read everything the client sent. */
async function startServer(down: (i: number) => Buffer): Promise<{ port: number; received: Promise<Buffer>[]; sockets: net.Socket[] }> {
  const received: Promise<Buffer>[] = [];
  const sockets: net.Socket[] = [];
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const i = n++;
    sockets.push(s);
    s.on('error', () => undefined);
    received.push(
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve(Buffer.concat(chunks)));
      }),
    );
    s.end(down(i));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as net.AddressInfo).port, received, sockets };
}

/** Sends `up`, half-closes, and collects what comes back until the proxy's FIN. */
function exchange(address: string, up: Buffer): Promise<Buffer> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.on('error', reject);
    s.end(up);
  });
}

function engineOn(port: number, maxPipes?: number): { engine: NativeEngine; address: string } {
  const engine = startNativeEngine({ threads: 1, observe: false, ...(maxPipes !== undefined ? { maxPipes } : {}) }, ignore);
  cleanups.push(() => engine.close());
  const address = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: port, dst: `127.0.0.1:${port}` });
  return { engine, address };
}

describe.skipIf(!isNativeAvailable())('native engine splice(2) with a bounded pipe pool', () => {
  it('moves 16 MiB each way at once through pipes, byte for byte, half-close kept', async () => {
    const up = randomBytes(16 * MiB + 123);
    const down = randomBytes(16 * MiB + 45);
    const server = await startServer(() => down);
    const { engine, address } = engineOn(server.port);
    const back = await exchange(address, up);
    expect(sha(back)).toBe(sha(down));
    expect(sha(await server.received[0]!)).toBe(sha(up));
    const c = engine.counters();
    expect(c.splicedBytes).toBeGreaterThan(16 * MiB); // most of the 32 MiB went through pipes
    expect(c.boundHits.get('pipe-pool')).toBeUndefined();
  }, 30_000);

  it('with one pipe for three streaming connections, the others fall back to read/write (bound "pipe-pool"), every byte still exact', async () => {
    const ups = [0, 1, 2].map(() => randomBytes(8 * MiB + 7));
    const downs = [0, 1, 2].map(() => randomBytes(8 * MiB + 11));
    const server = await startServer((i) => downs[i]!);
    const { engine, address } = engineOn(server.port, 1);
    const backs = await Promise.all(ups.map((u) => exchange(address, u)));
    // the server numbers connections in accept order; match them by content
    const received = await Promise.all(server.received);
    expect(received.map(sha).sort()).toEqual(ups.map(sha).sort());
    expect(backs.map(sha).sort()).toEqual(downs.map(sha).sort());
    const c = engine.counters();
    expect(c.splicedBytes).toBeGreaterThan(0);
    expect(c.boundHits.get('pipe-pool')).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('maxPipes 0 never splices and counts nothing', async () => {
    const up = randomBytes(4 * MiB);
    const down = randomBytes(4 * MiB);
    const server = await startServer(() => down);
    const { engine, address } = engineOn(server.port, 0);
    expect(sha(await exchange(address, up))).toBe(sha(down));
    expect(sha(await server.received[0]!)).toBe(sha(up));
    expect(engine.counters().splicedBytes).toBe(0);
    expect(engine.counters().boundHits.get('pipe-pool')).toBeUndefined();
  }, 30_000);

  it('a connection reset while its bytes sit in a pipe gives the pipe up, and the next stream gets one', async () => {
    // Upstream reads 2 MiB, then stops reading: the client keeps writing until the proxy's pipe
    // and socket buffers are full, then resets.
    let stalled!: () => void;
    const isStalled = new Promise<void>((r) => (stalled = r));
    let first = true;
    const ends: Promise<Buffer>[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      cleanups.push(() => s.destroy()); // a paused socket never notices the reset itself
      if (first) {
        first = false;
        let got = 0;
        s.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 2 * MiB) {
            s.pause();
            stalled();
          }
        });
        return;
      }
      ends.push(
        new Promise((resolve) => {
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => resolve(Buffer.concat(chunks)));
        }),
      );
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const { engine, address } = engineOn((server.address() as net.AddressInfo).port, 1);
    cleanups.push(() => client.destroy());
    const at = address.lastIndexOf(':');
    const client = net.connect({ host: '127.0.0.1', port: Number(address.slice(at + 1)) });
    client.on('error', () => undefined);
    const chunk = randomBytes(MiB);
    const pump = () => {
      while (client.write(chunk));
    };
    client.on('drain', pump);
    client.on('connect', pump);
    await isStalled;
    await new Promise((r) => setTimeout(r, 300)); // every buffer on the way fills up
    const splicedBefore = engine.counters().splicedBytes;
    expect(splicedBefore).toBeGreaterThan(0);
    client.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    const up = randomBytes(8 * MiB);
    expect((await exchange(address, up)).length).toBe(0);
    expect(sha(await ends[0]!)).toBe(sha(up));
    const c = engine.counters();
    expect(c.splicedBytes - splicedBefore).toBeGreaterThan(MiB); // the one pipe was free again
    expect(c.boundHits.get('pipe-pool')).toBeUndefined();
  }, 30_000);

  describe('HTTP/1 bodies of known length', () => {
    /** Three keep-alive exchanges (a 1 MiB POST answered with 2 MiB) through an observing engine. */
    async function threeExchanges(wantBodies: boolean) {
      const received: string[] = [];
      const answers = [0, 1, 2].map(() => randomBytes(2 * MiB));
      let n = 0;
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push(sha(Buffer.concat(chunks)));
          res.writeHead(200, { 'content-length': String(2 * MiB) });
          res.end(answers[n++]);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise((r) => server.close(r)));
      const ends: NativeExchangeEnd[] = [];
      const captured = { request: 0, response: 0 };
      const handler = new Proxy({} as NativeRecordHandler, {
        get: (_t, name) =>
          name === 'exchangeEnd'
            ? (_id: number, _stream: number, end: NativeExchangeEnd) => void ends.push(end)
            : name === 'body'
              ? (_id: number, _stream: number, isRequest: boolean, bytes: Buffer) => void (captured[isRequest ? 'request' : 'response'] += bytes.length)
              : () => undefined,
      });
      const engine = startNativeEngine({ threads: 1, observe: true }, handler);
      cleanups.push(() => engine.close());
      engine.setTapped(true); // exchange records reach JS only while tapped
      engine.setWantBodies(wantBodies);
      const port = (server.address() as net.AddressInfo).port;
      const address = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: port, dst: `127.0.0.1:${port}` });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      cleanups.push(() => agent.destroy());
      const sent = [0, 1, 2].map(() => randomBytes(MiB));
      const got: string[] = [];
      for (const body of sent) {
        got.push(
          await new Promise<string>((resolve, reject) => {
            const at = address.lastIndexOf(':');
            const req = http.request({ host: '127.0.0.1', port: Number(address.slice(at + 1)), method: 'POST', path: '/', agent, headers: { 'content-length': String(body.length) } }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve(sha(Buffer.concat(chunks))));
            });
            req.on('error', reject);
            req.end(body);
          }),
        );
      }
      for (let i = 0; i < 100 && ends.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received).toEqual(sent.map(sha));
      expect(got).toEqual(answers.map(sha));
      // The observer saw every exchange end, and counted every body byte, spliced or not.
      expect(ends.map((e) => [e.error, e.requestBytes, e.responseBytes])).toEqual([0, 1, 2].map(() => [undefined, MiB, 2 * MiB]));
      return { spliced: engine.counters().splicedBytes, captured };
    }

    it('nobody captures them: they are spliced, and the observer still ends each exchange with exact byte counts', async () => {
      const r = await threeExchanges(false);
      expect(r.spliced).toBeGreaterThan(3 * MiB); // of 9 MiB of bodies
      expect(r.captured).toEqual({ request: 0, response: 0 });
    }, 30_000);

    it('a tap or the recorder wants bodies: the first body-limit bytes of each body are read and reach JS, the rest may splice', async () => {
      const r = await threeExchanges(true);
      // The engine's default body limit: 64 KiB per exchange and direction (native-h1's capture bound).
      expect(r.captured).toEqual({ request: 3 * 64 * 1024, response: 3 * 64 * 1024 });
      expect(r.spliced).toBeLessThanOrEqual(9 * MiB - 6 * 64 * 1024);
    }, 30_000);
  });
});
