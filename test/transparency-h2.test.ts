/**
 * HTTP/2 transparency through the real sidecar process, with real clients (curl
 * --http2-prior-knowledge, nghttp, node:http2) and a real node:http2 origin. A recording tee on
 * each side of the sidecar proves that both directions' bytes (SETTINGS, flow control, HPACK
 * state, priorities: all of it) are identical; the tap must report exactly the streams that ran.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { expectedEvents } from './support/expected-events.js';
import { clientStart, FLAG, frame, FRAME, getHeaders, parseFrames } from './support/h2-frames.js';
import { patternBytes, startH2Origin, type H2Origin } from './support/h2-origin.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { hasBinary } from './support/ports.js';
import { connectRaw } from './support/raw-socket.js';
import { eventShape, openTapCollector, type TapCollector } from './support/tap-collector.js';
import type { Tee } from './support/tee.js';
import { startTeeRig, type TeeRig } from './support/transparency-rig.js';

const run = promisify(execFile);

let origin: H2Origin;
let rig: TeeRig;
let serverTee: Tee;
let clientTee: Tee;
let sidecar: SidecarProcess;
let tap: TapCollector;
let target: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-h2-'));
  origin = await startH2Origin();
  rig = await startTeeRig(origin.port, ['--namespace', 'h2ns']);
  ({ serverTee, clientTee, sidecar, tap, target } = rig);
});

afterAll(async () => {
  await rig?.close();
  await origin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Waits for the i-th connection through both tees to close, then compares both directions. */
async function expectSameBytes(i: number): Promise<void> {
  await clientTee.settled(i + 1);
  await serverTee.settled(i + 1);
  const a = clientTee.connections[i];
  const b = serverTee.connections[i];
  expect(a.c2s.bytes).toBeGreaterThan(0);
  expect({ bytes: b.c2s.bytes, sha: b.c2s.digest(), fin: b.c2s.ended }).toEqual({ bytes: a.c2s.bytes, sha: a.c2s.digest(), fin: a.c2s.ended });
  expect({ bytes: b.s2c.bytes, sha: b.s2c.digest(), fin: b.s2c.ended }).toEqual({ bytes: a.s2c.bytes, sha: a.s2c.digest(), fin: a.s2c.ended });
}

/** Events of the exchange whose path is `path`, and its connection number. */
async function eventsOf(path: string): Promise<{ conn: string; stream: string; events: Array<Partial<TapEvent>> }> {
  const [end] = await tap.waitForEnds(1, (e) => e.path === path);
  const [conn, stream] = end.id.split('.');
  return { conn, stream, events: tap.exchange(end.id).map(eventShape) };
}

const authority = () => `127.0.0.1:${clientTee.port}`;
const base = () => ({ dst: target, protocol: 'h2' as const, authority: authority(), workload: { namespace: 'h2ns' } });

describe('HTTP/2 transparency (real clients, real sidecar process)', () => {
  it.skipIf(!hasBinary('curl'))('curl --http2-prior-knowledge: a GET with trailers, then a 1 MiB POST', async () => {
    const conn = clientTee.connections.length;
    const { stdout } = await run('curl', ['--http2-prior-knowledge', '-sS', '--fail-with-body', '-H', 'X-Case: Value', `http://${authority()}/hello`]);
    expect(stdout).toBe('hi');
    await expectSameBytes(conn);
    const hello = await eventsOf('/hello');
    expect(hello.events).toEqual(
      expectedEvents({
        ...base(), id: `${hello.conn}.1`, method: 'GET', path: '/hello',
        requestHeaders: origin.seen.get('/hello')!.rawHeaders,
        status: 200, responseHeaders: [[':status', '200'], ['x-b', '1']], trailers: [['x-t', '2']],
        requestBytes: 0, responseBytes: 2,
      }),
    );
    expect(origin.seen.get('/hello')!.rawHeaders).toContainEqual(['x-case', 'Value']);

    // (curl 7.88 cannot POST on a reused prior-knowledge connection: a second connection.)
    const upload = patternBytes(1024 * 1024, 11);
    await writeFile(join(dir, 'up.bin'), upload);
    await run('curl', ['--http2-prior-knowledge', '-sS', '--fail-with-body', '-o', join(dir, 'echo.out'), '--data-binary', `@${join(dir, 'up.bin')}`, '-H', 'content-type: application/octet-stream', `http://${authority()}/echo/curl`]);
    expect((await readFile(join(dir, 'echo.out'))).equals(upload)).toBe(true);
    await expectSameBytes(conn + 1);
    const echo = await eventsOf('/echo/curl');
    expect(Number(echo.conn)).toBeGreaterThan(Number(hello.conn));
    expect(echo.events).toEqual(
      expectedEvents({
        ...base(), id: `${echo.conn}.1`, method: 'POST', path: '/echo/curl',
        requestHeaders: origin.seen.get('/echo/curl')!.rawHeaders,
        status: 200, responseHeaders: [[':status', '200'], ['x-len', String(upload.length)]],
        requestBytes: upload.length, responseBytes: upload.length,
      }),
    );
  });

  it.skipIf(!hasBinary('nghttp'))('nghttp: priorities, idle streams and a 2 MiB download are relayed and observed', async () => {
    const conn = clientTee.connections.length;
    const size = 2 * 1024 * 1024 + 5;
    const path = `/big/${size}`;
    const { stdout } = await run('nghttp', ['-H', 'x-odd: MiXeD', `http://${authority()}${path}`], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(stdout.equals(patternBytes(size))).toBe(true);
    await expectSameBytes(conn);
    const seen = origin.seen.get(path)!;
    expect(seen.rawHeaders).toContainEqual(['x-odd', 'MiXeD']);
    const big = await eventsOf(path);
    expect(big.events).toEqual(
      expectedEvents({
        ...base(), id: `${big.conn}.${seen.streamId}`, method: 'GET', path,
        requestHeaders: seen.rawHeaders,
        status: 200, responseHeaders: [[':status', '200'], ['content-length', String(size)]],
        requestBytes: 0, responseBytes: size,
      }),
    );
    // nghttp's priority-only idle streams are not exchanges.
    expect(tap.events.filter((e) => e.id.startsWith(`${big.conn}.`)).map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
  });

  // Regression: HTTP/2 servers (node:http2, grpc-js, Go) send their SETTINGS on accept. When those
  // reached the sidecar before the client's preface (a loaded machine), detection called the
  // connection opaque ("server spoke first") and the whole connection went unobserved.
  it('a server whose SETTINGS arrive before the client preface is still observed as h2', async () => {
    const conn = clientTee.connections.length;
    const client = await connectRaw(clientTee.port);
    await client.waitFor((r) => parseFrames(r).some((f) => f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)), "the server's SETTINGS");
    await client.write(Buffer.concat([clientStart(), frame(FRAME.SETTINGS, FLAG.ACK, 0), getHeaders(1, '/hello', authority())]));
    await client.waitFor((r) => parseFrames(r).some((f) => f.stream === 1 && f.type === FRAME.HEADERS && f.flags & FLAG.END_STREAM), 'the response trailers');
    client.end();
    await expectSameBytes(conn);
    const [end] = await tap.waitForEnds(1, (e) => e.path === '/hello' && Number(e.id.split('.')[0]) > 0 && e.authority === authority() && !e.requestHeaders!.some(([k]) => k === 'user-agent'));
    expect(tap.exchange(end.id).map(eventShape)).toEqual(
      expectedEvents({
        ...base(), id: end.id, method: 'GET', path: '/hello',
        requestHeaders: [[':method', 'GET'], [':scheme', 'http'], [':path', '/hello'], [':authority', authority()]],
        status: 200, responseHeaders: [[':status', '200'], ['x-b', '1']], trailers: [['x-t', '2']],
        requestBytes: 0, responseBytes: 2,
      }),
    );
  });

  it('a stream the client cancels (RST_STREAM) ends as reset; its sibling stream on the same connection completes', async () => {
    const conn = clientTee.connections.length;
    const session = http2.connect(`http://${authority()}`, { maxSessionMemory: 512 });
    session.on('error', () => {});
    const size = 8 * 1024 * 1024;
    const cancelled = new Promise<void>((resolve) => {
      const req = session.request({ ':path': `/big/${size}` });
      req.once('data', () => req.close(http2.constants.NGHTTP2_CANCEL));
      req.on('error', () => {});
      req.on('close', () => resolve());
    });
    await cancelled;
    const sibling = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/hello' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (t: string) => (body += t));
      req.on('end', () => resolve(body));
      req.on('error', reject);
    });
    expect(sibling).toBe('hi');
    await new Promise<void>((resolve) => session.close(() => resolve()));
    await expectSameBytes(conn);
    const [big] = await tap.waitForEnds(1, (e) => e.path === `/big/${size}`);
    expect([big.status, big.error]).toEqual([200, 'reset']);
    expect(big.responseBytes).toBeLessThan(size);
    const [hello] = await tap.waitForEnds(1, (e) => e.path === '/hello' && e.id.split('.')[0] === big.id.split('.')[0]);
    expect([hello.status, hello.responseBytes, hello.error, hello.trailers]).toEqual([200, 2, undefined, [['x-t', '2']]]);
  });

  it('node:http2: 100 concurrent streams plus multi-MiB bodies, all bytes and all 103 exchanges exact', async () => {
    const conn = clientTee.connections.length;
    const session = http2.connect(`http://${authority()}`, { maxSessionMemory: 512 });
    session.on('error', () => {});
    const bodies = Array.from({ length: 103 }, (_, i) => patternBytes(i < 100 ? 1000 + i * 997 : 3 * 1024 * 1024 + i, i));
    const results = await Promise.all(
      bodies.map(
        (body, i) =>
          new Promise<{ id: number; status: number; body: Buffer; headers: http2.IncomingHttpHeaders }>((resolve, reject) => {
            const req = session.request({ ':method': 'POST', ':path': `/echo/n${i}`, 'x-index': String(i), 'X-Upper': 'KeepValueCase' });
            const chunks: Buffer[] = [];
            let headers: http2.IncomingHttpHeaders = {};
            req.on('response', (h) => (headers = h));
            req.on('data', (c: Buffer) => chunks.push(c));
            req.on('end', () => resolve({ id: req.id!, status: Number(headers[':status']), body: Buffer.concat(chunks), headers }));
            req.on('error', reject);
            req.end(body);
          }),
      ),
    );
    await new Promise<void>((resolve) => session.close(() => resolve()));
    for (let i = 0; i < bodies.length; i++) {
      expect(results[i].status).toBe(200);
      expect(results[i].body.equals(bodies[i])).toBe(true);
    }
    await expectSameBytes(conn);

    const ends = await tap.waitForEnds(103, (e) => e.path.startsWith('/echo/n'));
    expect(new Set(ends.map((e) => e.id)).size).toBe(103);
    const connNo = ends[0].id.split('.')[0];
    for (let i = 0; i < bodies.length; i++) {
      const path = `/echo/n${i}`;
      const id = `${connNo}.${results[i].id}`;
      expect(tap.exchange(id).map(eventShape)).toEqual(
        expectedEvents({
          ...base(), id, method: 'POST', path,
          requestHeaders: origin.seen.get(path)!.rawHeaders,
          status: 200, responseHeaders: [[':status', '200'], ['x-len', String(bodies[i].length)]],
          requestBytes: bodies[i].length, responseBytes: bodies[i].length,
        }),
      );
    }
  }, 90_000);

  it('followed every connection above without giving up on any', async () => {
    const samples = await scrape(sidecar.admin!);
    expect(samples.filter((x) => x.name === 'meshtap_observer_errors_total' && x.value > 0)).toEqual([]);
  });
});
