/**
 * Issue 14, "JS does no per-stream work when nobody taps", for HTTP/2 and gRPC: under the native
 * engine streams are counted and recorded in C++ (metrics-h2-sink.h) and cross to JS as records
 * only while a tap subscriber is attached (`setTapped`), decided per stream at its request
 * HEADERS. Real sockets: a node:http2 server behind the engine's forward listener, streams on one
 * client session through it; the records JS receives are counted by kind, and the C++ metrics and
 * recorder are read as /metrics and history would read them.
 */
import http2 from 'node:http2';
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

function request(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ...headers });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', reject);
    req.resume();
    req.on('end', () => resolve(status));
    req.end();
  });
}

describe.skipIf(!isNativeAvailable())('native engine: HTTP/2 streams reach JS only while someone taps', () => {
  it('counts and records every stream in C++, and sends JS stream records only for those begun while tapped', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      if (headers['content-type'] === 'application/grpc') {
        // A gRPC answer: one empty message, then grpc-status 14 in the trailers.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'down' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
        return;
      }
      stream.respond({ ':status': headers[':path'] === '/fail' ? 503 : 200 });
      stream.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const target = (server.address() as AddressInfo).port;

    const { handler, counts } = countingHandler();
    const engine = startNativeEngine({ threads: 1, observe: true }, handler);
    cleanups.push(() => engine.close());
    const address = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: target, dst: `127.0.0.1:${target}` });
    const session = http2.connect(`http://${address}`);
    cleanups.push(() => new Promise<void>((r) => session.close(() => r())));

    for (let i = 0; i < 20; i++) expect(await request(session, `/users/${i}`)).toBe(200);
    engine.flush();
    for (const kind of ['h2RequestHead', 'h2ResponseHead', 'h2End', 'data', 'open', 'detected']) expect(counts.get(kind) ?? 0, kind).toBe(0);

    engine.setTapped(true);
    for (let i = 0; i < 3; i++) await request(session, '/fail');
    await request(session, '/pkg.Svc/Call', { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' });
    // The worker forwards a stream's last frame before it records the stream's end, so the client
    // can have its answer a moment before the End record exists: flush until it is there.
    await expect.poll(() => (engine.flush(), counts.get('h2End')), { timeout: 5_000, interval: 20 }).toBe(4);
    expect(counts.get('detected')).toBe(1); // announced with its first tapped stream
    expect(counts.get('h2RequestHead')).toBe(4);
    expect(counts.get('h2ResponseHead')).toBe(4);
    expect(counts.get('data') ?? 0).toBe(0);

    engine.setTapped(false);
    await request(session, '/users/99');
    // Every stream, tapped or not, in the C++ metrics and recorder (the last one's end a moment after its answer).
    await expect.poll(() => engine.recorderQuery().length, { timeout: 5_000, interval: 20 }).toBe(25);
    engine.flush();
    expect(counts.get('h2End')).toBe(4);

    const m = engine.httpMetrics();
    expect(m.routes.map((r) => [r.direction, r.target, r.requests])).toEqual([['inbound', `127.0.0.1:${target}`, 25]]);
    expect(m.routes[0]!.responses.map((r) => [r.status, r.grpcStatus ?? '', r.failure, r.count]).sort()).toEqual([[200, '', false, 21], [200, 14, true, 1], [503, '', true, 3]]);
    expect(m.peers[0]!.records.map((r) => [r.method, r.route, r.protocol, r.success, r.failure]).sort()).toEqual([
      ['GET', '/fail', 'h2', 0, 3],
      ['GET', '/users/{id}', 'h2', 21, 0],
      ['POST', '/pkg.Svc/Call', 'grpc', 0, 1],
    ]);
    const history = engine.recorderQuery();
    expect(history.length).toBe(25);
    const call = history.get(23);
    expect(call.h2).toMatchObject({ isGrpc: true, path: '/pkg.Svc/Call', grpcStatus: 14, grpcMessage: 'down', requestMessages: 0, responseMessages: 1 });
    expect(history.get(24).h2?.path).toBe('/users/99');
    expect(engine.recorderStats()).toMatchObject({ count: 25, evicted: 0 });
  });
});
