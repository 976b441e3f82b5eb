/**
 * The tap port's gRPC server (node:http2, tap-grpc-server.ts) against real grpc-js clients: what a
 * caller sees must be what grpc-js's own Server gave (statuses, details, trailers-only answers,
 * deadlines, cancellation), and HTTP/2 flow control must hold a writer back from a reader that
 * does not read. Real sockets on 127.0.0.1 port 0.
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../test/support/until.js';
import { createTapGrpcServer, type GrpcCall, type GrpcMethod, type TapGrpcServer } from './tap-grpc-server.js';

const STREAM = '/test.Tap/Stream';
const UNARY = '/test.Tap/Unary';
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const text = (b: Buffer): string => b.toString('utf8');

let listener: Server | undefined;
let server: TapGrpcServer | undefined;
let client: grpc.Client | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close(100);
  server = undefined;
  await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
  listener = undefined;
});

/** Serves `handlers` by path (JSON requests) on a fresh port; returns a grpc-js client of it. */
async function serve(handlers: Record<string, (call: GrpcCall<unknown>) => void>, maxConcurrentStreams = 256): Promise<grpc.Client> {
  const methods = new Map<string, GrpcMethod>(Object.entries(handlers).map(([path, handle]) => [path, { parse: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown, handle }]));
  server = createTapGrpcServer(methods, { maxConcurrentStreams });
  const s = server;
  listener = createServer((socket) => s.inject(socket));
  await new Promise<void>((resolve) => listener!.listen(0, '127.0.0.1', resolve));
  client = new grpc.Client(`127.0.0.1:${(listener.address() as AddressInfo).port}`, grpc.credentials.createInsecure());
  return client;
}

/** A server-streaming call: its messages as text, and how it ended. */
function stream(c: grpc.Client, path: string, request: Buffer, options: { deadlineMs?: number; metadata?: grpc.Metadata } = {}) {
  const call = c.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, options.metadata ?? new grpc.Metadata(), options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {});
  const messages: string[] = [];
  call.on('data', (b: Buffer) => messages.push(text(b)));
  const done = new Promise<{ code: number; details: string; metadata?: grpc.Metadata }>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    call.on('status', (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK) resolve({ code: st.code, details: st.details, metadata: st.metadata });
    });
  });
  return { call, messages, done };
}

describe('tap gRPC server (node:http2) seen by grpc-js clients', () => {
  it('streams messages in order and ends OK; the handler sees the request, metadata and peer', async () => {
    let seen: { request: unknown; grant?: string; peer: string } | undefined;
    const c = await serve({
      [STREAM]: (call) => {
        seen = { request: call.request, grant: call.header('meshtap-grant'), peer: call.peer };
        for (let i = 0; i < 3; i++) call.write(`[{"n":${i},"s":"é\\u2028"}]`);
        call.end();
      },
    });
    const metadata = new grpc.Metadata();
    metadata.set('meshtap-grant', 'g.r.ant');
    const r = stream(c, STREAM, json({ matches: [], bodies: true }), { metadata });
    expect(await r.done).toMatchObject({ code: grpc.status.OK, details: 'OK' });
    expect(r.messages).toEqual([0, 1, 2].map((i) => `[{"n":${i},"s":"é\\u2028"}]`));
    expect(seen).toMatchObject({ request: { matches: [], bodies: true }, grant: 'g.r.ant' });
    expect(seen!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a status before any message is a trailers-only answer, details as sent (percent-encoding round trip); after messages, in the trailers', async () => {
    const details = 'MT_GRANT_REQUIRED: naïve 100% — use meshtap tap --tap-api URL';
    const c = await serve({
      [STREAM]: (call) => {
        const r = call.request as { after: boolean };
        if (r.after) call.write('[1]');
        call.fail(grpc.status.PERMISSION_DENIED, details);
      },
    });
    const before = stream(c, STREAM, json({ after: false }));
    expect(await before.done).toEqual({ code: grpc.status.PERMISSION_DENIED, details });
    expect(before.messages).toEqual([]);
    const after = stream(c, STREAM, json({ after: true }));
    expect(await after.done).toEqual({ code: grpc.status.PERMISSION_DENIED, details });
    expect(after.messages).toEqual(['[1]']);
  });

  it('answers what it does not serve, and requests it cannot read, as grpc-js does', async () => {
    const c = await serve({ [STREAM]: (call) => call.end() });
    expect(await stream(c, '/meshtap.tap.v9.Tap/Observe', json({})).done).toEqual({ code: grpc.status.UNIMPLEMENTED, details: 'The server does not implement the method /meshtap.tap.v9.Tap/Observe' });
    expect(await stream(c, STREAM, Buffer.from('{not json')).done).toEqual({ code: grpc.status.INTERNAL, details: 'Error deserializing request' });
    // A grpc-timeout grpc-js would not accept either.
    const metadata = new grpc.Metadata();
    metadata.set('grpc-timeout', 'soon');
    const bad = stream(c, STREAM, json({}), { metadata });
    expect((await bad.done).code).toBe(grpc.status.INTERNAL);
  });

  it('a request message over 4 MiB is refused with RESOURCE_EXHAUSTED', async () => {
    let called = false;
    const c = await serve({ [STREAM]: () => (called = true) });
    const r = await stream(c, STREAM, json({ pad: 'x'.repeat(4 * 1024 * 1024) })).done;
    expect(r.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(r.details).toMatch(/^Received message larger than max \(\d+ vs 4194304\)$/);
    expect(called).toBe(false);
  });

  it('a unary call gets its one reply', async () => {
    const c = await serve({
      [UNARY]: (call) => {
        call.write(JSON.stringify({ found: (call.request as { token: string }).token === 'abc' }));
        call.end();
      },
    });
    const reply = await new Promise<unknown>((resolve, reject) =>
      c.makeUnaryRequest(UNARY, json, (b: Buffer) => JSON.parse(text(b)) as unknown, { token: 'abc' }, (err, v) => (err ? reject(err) : resolve(v))),
    );
    expect(reply).toEqual({ found: true });
  });

  it('a call past its deadline: the client reads DEADLINE_EXCEEDED and the handler is told the call is over', async () => {
    let closed = false;
    let call: GrpcCall<unknown> | undefined;
    const c = await serve({
      [STREAM]: (k) => {
        call = k;
        k.write('[0]');
        k.onClose(() => (closed = true));
      },
    });
    const r = stream(c, STREAM, json({}), { deadlineMs: 300 });
    expect((await r.done).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until('the server saw the call end', () => closed);
    expect(call!.ended).toBe(true);
    call!.write('[1]'); // ignored, does not throw
  });

  it('the server ends a call at its grpc-timeout itself (a client that does not enforce it gets DEADLINE_EXCEEDED in the trailers)', async () => {
    let closed = false;
    await serve({ [STREAM]: (k) => k.onClose(() => (closed = true)) });
    const session = http2.connect(`http://127.0.0.1:${(listener!.address() as AddressInfo).port}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' });
      const frame = Buffer.alloc(5 + 2);
      frame.writeUInt32BE(2, 1);
      frame.write('{}', 5);
      req.end(frame);
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
        req.on('response', (h) => h['grpc-status'] !== undefined && resolve(h));
        req.on('trailers', resolve);
        req.resume();
      });
      // On the wire as grpc-js's server writes it (encodeURI); its clients decode it.
      expect([trailers['grpc-status'], trailers['grpc-message']]).toEqual(['4', 'Deadline%20exceeded']);
      await until('the handler was told', () => closed);
    } finally {
      session.destroy();
    }
  });

  it('a call the client cancels: the handler is told, writes after it are ignored', async () => {
    let closed = false;
    let call: GrpcCall<unknown> | undefined;
    const c = await serve({
      [STREAM]: (k) => {
        call = k;
        k.onClose(() => (closed = true));
        k.write('[0]');
      },
    });
    const r = stream(c, STREAM, json({}));
    await until('the first message', () => r.messages.length === 1);
    r.call.cancel();
    expect((await r.done).code).toBe(grpc.status.CANCELLED);
    await until('the server saw the cancel', () => closed);
    call!.write('[1]');
    call!.end();
  });

  it('flow control: a client that does not read holds the writer back (write callbacks stop), and reading releases it', async () => {
    const chunk = `["${'x'.repeat(16 * 1024)}"]`;
    const total = 200; // 3.2 MiB: far beyond HTTP/2's default 64 KiB windows and socket buffers
    let written = 0;
    const c = await serve({
      [STREAM]: (call) => {
        for (let i = 0; i < total; i++) call.write(chunk, () => written++);
      },
    });
    const r = stream(c, STREAM, json({}));
    r.call.pause();
    // Held: what was handed on fits the windows and the socket buffers, not 3.2 MiB.
    await until('the writer is held back', async () => {
      const before = written;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return written === before && written > 0;
    });
    expect(written).toBeLessThan(total / 2);
    r.call.resume();
    await until('everything written once the client reads', () => written === total && r.messages.length === total);
  });

  it('at most maxConcurrentStreams calls per connection run at once; the next starts when one ends', async () => {
    const calls: GrpcCall<unknown>[] = [];
    const c = await serve({ [STREAM]: (k) => void calls.push(k) }, 2);
    const r = [0, 1, 2].map(() => stream(c, STREAM, json({})));
    await until('two calls running', () => calls.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls).toHaveLength(2);
    calls[0]!.end();
    await until('the third call runs', () => calls.length === 3);
    calls[1]!.end();
    calls[2]!.end();
    for (const x of r) expect((await x.done).code).toBe(grpc.status.OK);
  });

  it('close: GOAWAY, the calls end as their handlers end them, then the connections close', async () => {
    let call: GrpcCall<unknown> | undefined;
    const c = await serve({ [STREAM]: (k) => (call = k) });
    const r = stream(c, STREAM, json({}));
    await until('the call runs', () => call !== undefined);
    const closing = server!.close(5_000);
    call!.fail(grpc.status.UNAVAILABLE, 'MT_SIDECAR_STOPPED: the sidecar stopped');
    expect(await r.done).toEqual({ code: grpc.status.UNAVAILABLE, details: 'MT_SIDECAR_STOPPED: the sidecar stopped' });
    await closing;
  });
});
