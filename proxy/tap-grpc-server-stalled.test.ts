/**
 * The tap port's gRPC server (tap-grpc-server.ts): a request that is never finished must not hold a
 * tap connection slot for good (review8 F5b). The tap port holds 256 connections; a connection with
 * no call open is closed after idleMs, but a peer could open a call on each connection and never
 * finish its request (HEADERS only, or half a message, and no half-close): such a connection was
 * never idle, never closed, and 256 of them kept every tap out. And a status sent before the
 * request's end (a refusal) left the stream half-open on the server until the client closed it.
 * Raw node:http2 clients on 127.0.0.1 port 0, as any peer in the cluster can send them.
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../test/support/until.js';
import type { GrpcCall } from './tap-grpc-server.js';
import { grpcFrame, TEST_METHOD as STREAM, useTapGrpcPort } from '../test/support/tap-grpc-port.js';

const { serve: servePort, session } = useTapGrpcPort();
const serve = async (...a: Parameters<typeof servePort>): Promise<number> => (await servePort(...a)).port;
const frame = (body: Buffer, declared = body.length): Buffer => grpcFrame(body, { declared });

/** Opens a call the client never half-closes; records the status it is answered with and whether the stream closed. */
function stalled(s: http2.ClientHttp2Session) {
  const req = s.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  req.on('error', () => {});
  const seen: { grpcStatus?: string; grpcMessage?: string; closed: boolean; rstCode?: number } = { closed: false };
  const take = (h: http2.IncomingHttpHeaders): void => {
    if (h['grpc-status'] !== undefined) seen.grpcStatus = String(h['grpc-status']);
    if (h['grpc-message'] !== undefined) seen.grpcMessage = decodeURIComponent(String(h['grpc-message']));
  };
  req.on('response', take);
  req.on('trailers', take);
  req.on('close', () => {
    seen.closed = true;
    seen.rstCode = req.rstCode;
  });
  return { req, seen };
}

describe('tap gRPC server: unfinished requests cannot hold a tap connection (review8 F5b)', () => {
  it('regression (a request never finished held its connection open for good): past requestReadMs it is answered DEADLINE_EXCEEDED and its stream closed, and the connection is then closed as idle', async () => {
    let called = false;
    const port = await serve(() => (called = true), { idleMs: 300, requestReadMs: 200 });
    const s = session(port);
    const headersOnly = stalled(s);
    const halfMessage = stalled(s);
    halfMessage.req.write(frame(Buffer.from('{"a":'), 100));
    await until('both unfinished requests are answered and closed', () => headersOnly.seen.closed && halfMessage.seen.closed, 5_000);
    for (const c of [headersOnly, halfMessage]) {
      expect(c.seen).toMatchObject({ grpcStatus: '4', closed: true, rstCode: http2.constants.NGHTTP2_NO_ERROR });
      expect(c.seen.grpcMessage).toMatch(/^MT_TAP_REQUEST_TIMEOUT: the tap request was not complete within 200 ms/);
    }
    await until('the connection is closed by the server', () => s.closed || s.destroyed, 5_000);
    expect(called).toBe(false);
  });

  it('regression (a peer that keeps opening unfinished requests kept its connection from ever being idle): only a running call keeps a connection open', async () => {
    const port = await serve(() => {}, { idleMs: 400, requestReadMs: 10_000 });
    const s = session(port);
    const opened: ReturnType<typeof stalled>[] = [];
    // A new unfinished request every 50 ms, far more often than idleMs: the connection is closed anyway.
    const timer = setInterval(() => {
      if (!s.closed && !s.destroyed) opened.push(stalled(s));
    }, 50);
    try {
      await until('the connection is closed by the server', () => s.closed || s.destroyed, 5_000);
    } finally {
      clearInterval(timer);
    }
    expect(opened.length).toBeGreaterThanOrEqual(2); // requests were open while the connection was closed (a loaded machine fires fewer timers)
  });

  it('a status sent before the request ended (a refusal) closes the stream with RST_STREAM NO_ERROR after the status, instead of leaving it half-open', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const c = stalled(session(port));
    // A second message on a request that is never half-closed: refused at its first byte.
    c.req.write(Buffer.concat([frame(Buffer.from('{}')), frame(Buffer.from('{}'))]));
    await until('the refused stream is closed', () => c.seen.closed, 5_000);
    expect(c.seen).toMatchObject({ grpcStatus: '12', grpcMessage: `Received a second request message for server streaming method ${STREAM}`, rstCode: http2.constants.NGHTTP2_NO_ERROR });
    expect(called).toBe(false);
  });

  it('a live call (request complete, handler running) is not cut by requestReadMs, however quiet', async () => {
    let running: GrpcCall<unknown> | undefined;
    const port = await serve((k) => (running = k), { idleMs: 150, requestReadMs: 100 });
    const s = session(port);
    const req = s.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    const data: Buffer[] = [];
    req.on('data', (b: Buffer) => data.push(b));
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('trailers', (h) => (trailers = h));
    req.end(frame(Buffer.from('{}')));
    await until('the call runs', () => running !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(running!.ended).toBe(false);
    expect(s.closed || s.destroyed).toBe(false);
    running!.write('[1]');
    running!.end();
    await until('the call ends with OK', () => trailers !== undefined);
    expect(trailers!['grpc-status']).toBe('0');
    expect(Buffer.concat(data).subarray(5).toString()).toBe('[1]');
  });
});
