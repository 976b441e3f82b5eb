/**
 * The tap port's gRPC server (tap-grpc-server.ts) against a peer with no grant that opens calls
 * and never finishes them (review9). Any peer in the cluster may open streams on the tap port
 * before a grant is checked; each open stream cost the sidecar ~6.5 KB (node's stream objects),
 * and 256 connections of 256 streams of HEADERS only took it from 51 to 434 MB of RSS. Real
 * sockets on 127.0.0.1 port 0, node:http2 raw clients (as any peer can write) and grpc-js.
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../test/support/until.js';
import { MAX_OPEN_CALLS } from './tap-grpc-server.js';
import { grpcFrame as frame, TEST_METHOD as STREAM, useTapGrpcPort } from '../test/support/tap-grpc-port.js';

const tapPort = useTapGrpcPort();
const serve = tapPort.serve;
const session = (port: number): http2.ClientHttp2Session => tapPort.session(port, { peerMaxConcurrentStreams: 1000 });

/** Resolves once the server answered a PING sent after everything written so far on `s` (it read those frames first). */
async function pinged(s: http2.ClientHttp2Session): Promise<void> {
  if (s.connecting) await new Promise((resolve) => s.once('connect', resolve)); // a PING before the connection is cancelled
  await new Promise<void>((resolve, reject) => s.ping((err) => (err ? reject(err) : resolve())));
}

/** Opens a call (left open unless the caller ends it); `done` resolves with its status once one came, `closed` once the stream closed. */
function call(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders = {}) {
  const req = s.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers', ...headers }, { endStream: false });
  req.on('error', () => {});
  req.on('data', () => {});
  const closed = new Promise<number>((resolve) => req.on('close', () => resolve(req.rstCode ?? 0)));
  const done = new Promise<{ status?: number; grpcStatus?: string; grpcMessage?: string }>((resolve) => {
    const got: { status?: number; grpcStatus?: string; grpcMessage?: string } = {};
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h[':status'] !== undefined) got.status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) got.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) got.grpcMessage = decodeURIComponent(String(h['grpc-message']));
      if (got.grpcStatus !== undefined || (got.status !== undefined && got.status !== 200)) resolve({ ...got });
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('close', () => resolve({ ...got }));
  });
  return { req, done, closed };
}

describe('tap gRPC server: calls held open by a peer without a grant (review9)', () => {
  it('regression (open streams unbounded server-wide: 65,536 streams of HEADERS only took 434 MB): past maxOpenCalls a call is refused with RESOURCE_EXHAUSTED and counted; a slot freed is served again', async () => {
    let handled = 0;
    const { port, bounds } = await serve(
      (k) => {
        handled++;
        k.write('[1]');
        k.end();
      },
      { maxOpenCalls: 6 },
    );
    // Six calls held open (HEADERS only, never a byte more) over two connections.
    const [s1, s2, other] = [session(port), session(port), session(port)];
    const held = [call(s1), call(s1), call(s1), call(s2), call(s2), call(s2)];
    await Promise.all([pinged(s1), pinged(s2)]); // frames are read in order: the server has seen the six
    const refused = call(other);
    expect(await refused.done).toMatchObject({ status: 200, grpcStatus: '8', grpcMessage: expect.stringMatching(/^MT_TAP_BUSY: this sidecar has 6 tap calls open already/) });
    // The refusal closes the stream: no slot of the client's connection is left held by it either.
    expect(await refused.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(bounds).toEqual(['tap-calls']);
    expect(handled).toBe(0);
    // One held call goes: a complete call is served again.
    held[0]!.req.close(http2.constants.NGHTTP2_CANCEL);
    await held[0]!.closed;
    await until('a complete call is served once a slot is free', async () => {
      const next = call(other);
      next.req.end(frame(Buffer.from('{}')));
      return (await next.done).grpcStatus === '0';
    });
    expect(handled).toBe(1);
  });

  it('the default bound holds: MAX_OPEN_CALLS calls held open, the next is refused', async () => {
    const { port, bounds } = await serve(() => {});
    const conns = Array.from({ length: Math.ceil(MAX_OPEN_CALLS / 250) }, () => session(port));
    for (let i = 0; i < MAX_OPEN_CALLS; i++) call(conns[Math.floor(i / 250)]!);
    await Promise.all(conns.map(pinged));
    expect(await call(session(port)).done).toMatchObject({ grpcStatus: '8' });
    expect(bounds).toContain('tap-calls');
  }, 60_000);

  it('regression (a refused call the client never half-closes stayed open, holding its stream): an early status is followed by RST_STREAM(NO_ERROR), so refused calls free their slot', async () => {
    const { port } = await serve(() => {}, { maxOpenCalls: 2 });
    const s = session(port);
    // Refused before their request ends (unknown method, not gRPC, a second message); the client keeps its side open.
    const unknown = call(s, { ':path': '/nope.Nope/Nope' });
    unknown.req.write(frame(Buffer.from('{}')));
    expect(await unknown.done).toMatchObject({ grpcStatus: '12' });
    expect(await unknown.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    const text = call(s, { 'content-type': 'text/plain' });
    text.req.write('hello');
    expect((await text.done).status).toBe(415);
    expect(await text.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    const second = call(s);
    second.req.write(Buffer.concat([frame(Buffer.from('{}')), frame(Buffer.from('{}'))]));
    expect(await second.done).toMatchObject({ grpcStatus: '12' });
    expect(await second.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    // None of them holds one of the two slots: two more calls are taken (left open, not refused).
    await pinged(s);
    const a = call(s);
    const b = call(s);
    const c = call(s);
    expect(await c.done).toMatchObject({ grpcStatus: '8' });
    expect(a.req.closed || b.req.closed).toBe(false);
  });
});
