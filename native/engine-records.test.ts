/**
 * What the native engine hands the JS thread (issue 13: no per-byte and, untapped, no per-connection
 * JS work for HTTP/1): an opaque connection costs JS no record at all; an HTTP/1 connection sends
 * nothing while nobody taps (not even its open), exchange records (heads, end
 * with byte counts) and never its bytes while someone does, and body bytes only while JS said
 * bodies are wanted, at most the body limit per direction. Real sockets, the real addon.
 */
import { request, createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, startNativeEngine, type NativeEngine, type NativeRecordHandler } from './index.js';
import { reportBpfSkip } from '../test/bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('native/engine-records.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

type Rec = { type: string; id: number; [k: string]: unknown };

/** A handler that keeps every record (bytes as their length). */
function collector(): { records: Rec[]; handler: NativeRecordHandler } {
  const records: Rec[] = [];
  const push = (r: Rec) => void records.push(r);
  return {
    records,
    handler: {
      open: (id, proxy) => push({ type: 'open', id, proxy }),
      data: (id, fromClient, bytes) => push({ type: 'data', id, fromClient, len: bytes.length }),
      end: (id, fromClient) => push({ type: 'end', id, fromClient }),
      close: (id, error) => push({ type: 'close', id, error }),
      lost: (id) => push({ type: 'lost', id }),
      connectError: () => undefined,
      boundHit: () => undefined,
      detected: (id, kind, why) => push({ type: 'detected', id, kind, why }),
      requestHead: (id, stream, head, hasBodies) => push({ type: 'requestHead', id, stream, line: head.split('\r\n')[0], hasBodies }),
      responseHead: (id, stream, head) => push({ type: 'responseHead', id, stream, line: head.split('\r\n')[0] }),
      body: (id, stream, isRequest, bytes) => push({ type: 'body', id, stream, isRequest, len: bytes.length }),
      exchangeEnd: (id, stream, end) => push({ type: 'exchangeEnd', id, stream, ...end }),
      giveUp: (id, reason) => push({ type: 'giveUp', id, reason }),
      upgraded: (id) => push({ type: 'upgraded', id }),
      h2c: (id, stream, _atMs, isNative) => push({ type: 'h2c', id, stream, isNative }),
      h2RequestHead: (id, stream, head, hasBodies) => push({ type: 'h2RequestHead', id, stream, path: head.path, hasBodies }),
      h2ResponseHead: (id, stream, status) => push({ type: 'h2ResponseHead', id, stream, status }),
      h2End: (id, stream, end) => push({ type: 'h2End', id, stream, ...end }),
    },
  };
}

async function until(engine: NativeEngine, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    engine.flush();
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('records did not arrive');
}

describe.skipIf(!available)('native engine records', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0).reverse()) c();
  });

  const start = (bodyLimit = 1000) => {
    const c = collector();
    const engine = startNativeEngine({ threads: 1, observe: true, bodyLimit, detectTimeoutMs: 1000 }, c.handler);
    closers.push(() => engine.close());
    return { engine, records: c.records };
  };

  it('an opaque connection sends JS nothing at all, however many bytes pass (its detection is counted in C++)', async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    closers.push(() => echo.close());
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const { engine, records } = start();
    const at = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: (echo.address() as AddressInfo).port, dst: 'echo' });
    const [host, port] = [at.slice(0, at.lastIndexOf(':')), Number(at.slice(at.lastIndexOf(':') + 1))];
    // A TLS ClientHello's first bytes, then 256 KiB.
    const sent = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(256 * 1024, 7)]);
    const client: Socket = connect(port, host);
    closers.push(() => client.destroy());
    const got: Buffer[] = [];
    let n = 0;
    await new Promise<void>((resolve) => {
      client.on('data', (d) => {
        got.push(d);
        n += d.length;
        if (n === sent.length) resolve();
      });
      client.write(sent);
    });
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    client.end();
    await until(engine, () => engine.counters().protocolDetected.get('opaque') === 1);
    await new Promise((r) => setTimeout(r, 50));
    engine.flush();
    expect(records.map((r) => r.type)).toEqual([]);
  });

  it('an HTTP/1 connection sends nothing per exchange untapped, exchange records (not bytes) tapped, bodies only while wanted, at most the limit', async () => {
    const body = Buffer.alloc(200_000, 'b');
    const web: HttpServer = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(body));
    });
    closers.push(() => web.close());
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const { engine, records } = start(1000);
    const at = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: (web.address() as AddressInfo).port, dst: 'web' });
    const port = Number(at.slice(at.lastIndexOf(':') + 1));
    const post = () =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/x', agent: false, headers: { 'content-length': 5000 } }, (res) => {
          let len = 0;
          res.on('data', (d: Buffer) => (len += d.length));
          res.on('end', () => resolve(len));
        });
        req.on('error', reject);
        req.end(Buffer.alloc(5000, 'q'));
      });

    // Nobody taps: metrics, the recorder and the detection count are C++'s; JS hears nothing.
    expect(await post()).toBe(body.length);
    await until(engine, () => engine.tcpStats().some((s) => s.peer === 'src' && s.closed === 1));
    engine.flush();
    expect(records.map((r) => r.type)).toEqual([]);
    expect(engine.counters().protocolDetected).toEqual(new Map([['h1', 1]]));
    expect(engine.httpMetrics().routes.map((r) => [r.target, r.requests, r.responses.map((x) => [x.status, x.count])])).toEqual([['web', 1, [[200, 1]]]]);

    records.length = 0;
    engine.setTapped(true);
    expect(await post()).toBe(body.length);
    await until(engine, () => records.some((r) => r.type === 'exchangeEnd'));
    // Announced just before its first tapped record: open and detection, then the exchange.
    const first = records.filter((r) => r.type !== 'close').map((r) => r.type);
    expect(first).toEqual(['open', 'detected', 'requestHead', 'responseHead', 'exchangeEnd']);
    expect(records.find((r) => r.type === 'requestHead')).toMatchObject({ stream: 1, line: 'POST /x HTTP/1.1', hasBodies: false });
    expect(records.find((r) => r.type === 'exchangeEnd')).toMatchObject({ requestBytes: 5000, responseBytes: body.length, error: undefined });

    records.length = 0;
    engine.setWantBodies(true);
    expect(await post()).toBe(body.length);
    await until(engine, () => records.some((r) => r.type === 'exchangeEnd'));
    expect(records.some((r) => r.type === 'data')).toBe(false);
    expect(records.find((r) => r.type === 'requestHead')).toMatchObject({ hasBodies: true });
    const bodies = records.filter((r) => r.type === 'body');
    const sum = (isRequest: boolean) => bodies.filter((r) => r.isRequest === isRequest).reduce((n, r) => n + (r.len as number), 0);
    expect([sum(true), sum(false)]).toEqual([1000, 1000]);
    expect(records.find((r) => r.type === 'exchangeEnd')).toMatchObject({ requestBytes: 5000, responseBytes: body.length });
  });
});
