/**
 * The tap port's gRPC server (tap-grpc-server.ts) seen on the wire by clients that are not grpc-js:
 * node:http2 raw streams and raw TCP bytes, as any peer in the cluster can send them to the tap
 * port. What grpc-js's Server answered must still be answered (statuses, 415), a request body must
 * not be held past its declared bound, a reset or garbage connection must not disturb the others,
 * and no handler runs for a request it has not fully read. Real sockets on 127.0.0.1 port 0.
 */
import http2 from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../test/support/until.js';
import type { GrpcCall } from './tap-grpc-server.js';
import { grpcFrame as frame, TEST_METHOD as STREAM, useTapGrpcPort } from '../test/support/tap-grpc-port.js';

const { serve: servePort, session } = useTapGrpcPort();
const serve = async (...a: Parameters<typeof servePort>): Promise<number> => (await servePort(...a)).port;

/** Opens a call; resolves with the response's :status and grpc-status/grpc-message (headers or trailers) once a status came, or at close. */
function call(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders = {}) {
  const req = s.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  req.on('error', () => {});
  const data: Buffer[] = [];
  req.on('data', (b: Buffer) => data.push(b));
  const done = new Promise<{ status?: number; grpcStatus?: string; grpcMessage?: string; closedWith: number }>((resolve) => {
    const got: { status?: number; grpcStatus?: string; grpcMessage?: string } = {};
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h[':status'] !== undefined) got.status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) got.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) got.grpcMessage = decodeURIComponent(String(h['grpc-message']));
      // A status ends the call for the client even while its own side is open (as from grpc-js's Server).
      if (got.grpcStatus !== undefined || (got.status !== undefined && got.status !== 200)) resolve({ ...got, closedWith: 0 });
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('close', () => resolve({ ...got, closedWith: req.rstCode ?? 0 }));
  });
  return { req, data, done };
}

describe('tap gRPC server (node:http2) on the raw wire (review8)', () => {
  it('a message with the compressed flag is refused as grpc-js refused it; the handler never runs', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const c = call(session(port));
    c.req.end(frame(Buffer.from('{}'), { flag: 1 }));
    expect(await c.done).toMatchObject({ status: 200, grpcStatus: '13', grpcMessage: 'Received compressed message but "grpc-encoding" header was identity' });
    expect(called).toBe(false);
  });

  it('a content type that is not gRPC gets 415; an unknown path UNIMPLEMENTED; no message at all UNIMPLEMENTED', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const s = session(port);
    const text = call(s, { 'content-type': 'text/plain' });
    text.req.end(frame(Buffer.from('{}')));
    expect((await text.done).status).toBe(415);
    const none = call(s, { 'content-type': undefined as unknown as string });
    none.req.end();
    expect((await none.done).status).toBe(415);
    const unknown = call(s, { ':path': '/nope.Nope/Nope' });
    unknown.req.end(frame(Buffer.from('{}')));
    expect(await unknown.done).toMatchObject({ grpcStatus: '12', grpcMessage: 'The server does not implement the method /nope.Nope/Nope' });
    const empty = call(s);
    empty.req.end();
    expect(await empty.done).toMatchObject({ grpcStatus: '12', grpcMessage: `Received no request message for server streaming method ${STREAM}` });
    expect(called).toBe(false);
  });

  it('a declared length over the bound is refused at its 5-byte prefix: the server does not wait for (or hold) the body', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const c = call(session(port));
    // Only the prefix is sent, and the request stays open: an answer proves nothing was awaited.
    c.req.write(frame(Buffer.alloc(0), { declared: 0xffffffff }));
    expect(await c.done).toMatchObject({ grpcStatus: '8', grpcMessage: 'Received message larger than max (4294967295 vs 4194304)' });
    expect(called).toBe(false);
  });

  it('a second message on a request that is never half-closed is refused (no endless request body), the handler never runs', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const c = call(session(port));
    c.req.write(Buffer.concat([frame(Buffer.from('{}')), frame(Buffer.from('{}'))]));
    expect(await c.done).toMatchObject({ grpcStatus: '12', grpcMessage: `Received a second request message for server streaming method ${STREAM}` });
    expect(called).toBe(false);
  });

  it('a request reset half-way through its message: no handler runs, and the connection serves the next call', async () => {
    const requests: unknown[] = [];
    const port = await serve((k) => {
      requests.push(k.request);
      k.write('[1]');
      k.end();
    });
    const s = session(port);
    const cut = call(s);
    cut.req.write(frame(Buffer.from('{"a":1}'), { declared: 1000 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    cut.req.close(http2.constants.NGHTTP2_CANCEL);
    await cut.done;
    const next = call(s);
    next.req.end(frame(Buffer.from('{"b":2}')));
    expect(await next.done).toMatchObject({ status: 200, grpcStatus: '0' });
    expect(Buffer.concat(next.data).subarray(5).toString()).toBe('[1]');
    expect(requests).toEqual([{ b: 2 }]);
  });

  it('a client that resets a running call: the handler is told the call is over', async () => {
    let over = false;
    let running: GrpcCall<unknown> | undefined;
    const port = await serve((k) => {
      running = k;
      k.onClose(() => (over = true));
      k.write('[0]');
    });
    const c = call(session(port));
    c.req.end(frame(Buffer.from('{}')));
    await until('the first message', () => c.data.length > 0);
    c.req.close(http2.constants.NGHTTP2_CANCEL);
    await until('the handler was told', () => over);
    expect(running!.ended).toBe(true);
    running!.write('[1]'); // ignored, no throw
  });

  it('HTTP/1 or garbage bytes on the tap port: that connection is closed, the port serves the next client', async () => {
    const port = await serve((k) => k.end());
    for (const bytes of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', '\x00\x01\x02garbage'.repeat(100)]) {
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => {});
      sock.on('data', () => {}); // a GOAWAY may come first
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      sock.write(bytes);
      await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    }
    const c = call(session(port));
    c.req.end(frame(Buffer.from('{}')));
    expect(await c.done).toMatchObject({ status: 200, grpcStatus: '0' });
  });

  it('a grpc-timeout shorter than the request takes: the call ends DEADLINE_EXCEEDED, even before its request message came', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const c = call(session(port), { 'grpc-timeout': '100m' });
    c.req.write(frame(Buffer.from('{}'), { declared: 100 })); // never completed
    expect(await c.done).toMatchObject({ grpcStatus: '4', grpcMessage: 'Deadline exceeded' });
    expect(called).toBe(false);
  });
});

describe('tap gRPC server: request bytes held before any grant is checked are bounded server-wide (review8)', () => {
  it('regression (4 MiB per stream, 256 streams per connection, any number of connections held): past the bound a request is refused with RESOURCE_EXHAUSTED and counted; what was held is given back', async () => {
    const requests: unknown[] = [];
    const { port, bounds } = await servePort((k) => (requests.push(k.request), k.end()), { maxHeldRequestBytes: 64 * 1024 });
    // Two connections each leave an unfinished request of 40 KiB (of a declared 1 MiB): the second passes the bound.
    const [a, b] = [session(port), session(port)];
    const first = call(a);
    const chunk = Buffer.alloc(40 * 1024, 120);
    first.req.write(frame(chunk, { declared: 1024 * 1024 }));
    const second = call(b);
    second.req.write(frame(chunk, { declared: 1024 * 1024 }));
    expect(await second.done).toMatchObject({ grpcStatus: '8', grpcMessage: 'MT_TAP_BUSY: this sidecar holds 65536 bytes of unfinished tap requests already; try again' });
    expect(bounds).toEqual(['tap-request-bytes']);
    // A complete request held without its half-close counts too: a second message is refused as it begins.
    const whole = call(b);
    whole.req.write(frame(Buffer.from('{"w":1}')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    whole.req.write(frame(Buffer.from('{"w":2}'), { declared: 1024 * 1024 }));
    expect(await whole.done).toMatchObject({ grpcStatus: '12', grpcMessage: `Received a second request message for server streaming method ${STREAM}` });
    // The first request is reset: its bytes are given back, and a request of the same size is served.
    first.req.close(http2.constants.NGHTTP2_CANCEL);
    await first.done;
    const next = call(b);
    next.req.end(frame(Buffer.from(JSON.stringify({ pad: 'x'.repeat(40 * 1024) }))));
    expect(await next.done).toMatchObject({ status: 200, grpcStatus: '0' });
    expect(requests).toHaveLength(1);
    // An unfinished request whose connection is cut (no RST_STREAM, no GOAWAY): its bytes are given back too.
    const c = session(port);
    const cutOff = call(c);
    cutOff.req.write(frame(chunk, { declared: 1024 * 1024 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    c.destroy();
    await cutOff.done;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = call(b);
    after.req.end(frame(Buffer.from(JSON.stringify({ pad: 'y'.repeat(40 * 1024) }))));
    expect(await after.done).toMatchObject({ status: 200, grpcStatus: '0' });
    expect(requests).toHaveLength(2);
    expect(bounds).toEqual(['tap-request-bytes']);
  });
});

describe('tap gRPC server: deadlines (review8)', () => {
  it('regression (grpc-timeout wrapped by `| 0`): a 30-day deadline (2592000S, as grpc-js clients write it) does not expire the call at once', async () => {
    let running: GrpcCall<unknown> | undefined;
    const port = await serve((k) => {
      running = k;
      k.write('[0]');
    });
    const c = call(session(port), { 'grpc-timeout': '2592000S' });
    c.req.end(frame(Buffer.from('{}')));
    await until('the handler runs', () => running !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(running!.ended).toBe(false);
    running!.end();
    expect(await c.done).toMatchObject({ status: 200, grpcStatus: '0' });
    expect(Buffer.concat(c.data).subarray(5).toString()).toBe('[0]');
  });
});

describe('tap gRPC server: idle connections (review8)', () => {
  it('regression (idle connections held for good, the 256 of the tap port filled by one peer): a connection with no call open is closed after idleMs, a connection with a call open (however quiet) is not, and once its call ends it is', async () => {
    let running: GrpcCall<unknown> | undefined;
    const port = await serve((k) => (running = k), { idleMs: 200 });
    const idleOne = session(port);
    const busy = session(port);
    const quiet = call(busy);
    quiet.req.end(frame(Buffer.from('{}')));
    await until('the call runs', () => running !== undefined);
    await until('the idle connection is closed by the server', () => idleOne.closed || idleOne.destroyed);
    // Far past idleMs with its call open and nothing sent: still open.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(busy.closed || busy.destroyed).toBe(false);
    expect(running!.ended).toBe(false);
    running!.write('[1]');
    running!.end();
    expect(await quiet.done).toMatchObject({ status: 200, grpcStatus: '0' });
    await until('the connection is closed once its call ended', () => busy.closed || busy.destroyed);
  });
});
