/**
 * The mock as a dependency stand-in: repeated requests cycle through recorded responses,
 * `--match body` tells requests apart by body, unmatched requests get 404 / UNIMPLEMENTED or
 * go to a real passthrough upstream (HTTP via http2-proxy, gRPC via node:http2). Also replay's
 * noise detection and JSON masks against a service with volatile fields.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockServer, replayExchanges, type MockServer, type RecordedExchange } from '../record/index.js';
import { captureGrpc, captureH1 } from './fixtures/record/capture.js';
import { startServices, type Services } from './fixtures/record/services.js';

describe('mock server', () => {
  let svc: Services;
  let mock: MockServer | undefined;
  beforeAll(async () => {
    svc = await startServices();
  });
  afterEach(async () => {
    await mock?.close();
    mock = undefined;
  });
  afterAll(async () => svc?.close());

  it('cycles through recorded responses for a repeated request, and matches bodies with --match body', async () => {
    const a = await captureH1(svc.h1, 'POST', '/api/echo', { 'content-type': 'text/plain' }, 'first');
    const b = await captureH1(svc.h1, 'POST', '/api/echo', { 'content-type': 'text/plain' }, 'second');
    b.ts = new Date(Date.parse(a.ts) + 1000).toISOString();
    mock = createMockServer([a, b]);
    const { port } = await mock.listen(0);
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push(await (await request(`http://127.0.0.1:${port}/api/echo`, { method: 'POST', body: 'whatever' })).body.text());
    expect(bodies).toEqual(['first', 'second', 'first']);
    await mock.close();

    mock = createMockServer([a, b], { match: 'body' });
    const m2 = await mock.listen(0);
    const ask = async (body: string) => {
      const r = await request(`http://127.0.0.1:${m2.port}/api/echo`, { method: 'POST', body });
      return `${r.statusCode} ${await r.body.text()}`;
    };
    expect(await ask('second')).toBe('201 second');
    expect(await ask('first')).toBe('201 first');
    expect(await ask('third')).toMatch(/^404 meshtap mock: no recorded response for POST \/api\/echo/);
  });

  it('answers unmatched requests with 404 and gRPC UNIMPLEMENTED', async () => {
    mock = createMockServer([]);
    const { port } = await mock.listen(0);
    const r = await request(`http://127.0.0.1:${port}/nope`);
    expect(r.statusCode).toBe(404);
    await r.body.text();
    const ex = await captureGrpc(`http://127.0.0.1:${port}`, '/demo.Emoji/Echo', 'unary', ['x']);
    expect(ex.grpcStatus).toBe(grpc.status.UNIMPLEMENTED);
    expect(mock.stats.unmatched).toBe(2);
  });

  it('passes unmatched HTTP/1, h2 and gRPC requests through to a real upstream', async () => {
    const known = await captureH1(svc.h1, 'GET', '/api/items');
    known.responseBody = { size: 8, truncated: false, encoding: 'utf8', data: '"mocked"' };
    mock = createMockServer([known], { passthrough: svc.h1 });
    const { port } = await mock.listen(0);
    const base = `http://127.0.0.1:${port}`;
    expect(await (await request(`${base}/api/items`)).body.text()).toBe('"mocked"');
    const echo = await request(`${base}/api/echo`, { method: 'POST', body: 'through', headers: { 'content-type': 'text/plain' } });
    expect(echo.statusCode).toBe(201);
    expect(await echo.body.text()).toBe('through');
    // h2 client -> mock -> HTTP/1.1 upstream (http2-proxy)
    const session = http2.connect(base);
    try {
      const s = session.request({ ':path': '/api/items?q=h2' });
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((r) => s.on('end', r));
      expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ items: ['apple', 'banana'], q: 'h2' });
    } finally {
      session.close();
    }
    await mock.close();
    // gRPC goes through node:http2 to an h2 upstream, streaming and trailers intact.
    mock = createMockServer([], { passthrough: svc.grpc });
    const g = await mock.listen(0);
    const chat = await captureGrpc(`http://127.0.0.1:${g.port}`, '/demo.Emoji/Chat', 'bidi', ['x', 'y']);
    expect(chat.responseMessages?.map((f) => Buffer.from(f.data, 'base64').toString())).toEqual(['re:x', 're:y']);
    expect(chat.trailers).toContainEqual(['x-chat-end', 'bye']);
    const fail = await captureGrpc(`http://127.0.0.1:${g.port}`, '/demo.Emoji/Fail', 'unary', ['x']);
    expect([fail.grpcStatus, fail.grpcMessage]).toEqual([grpc.status.NOT_FOUND, 'no such emoji']);
    expect(mock.stats.passedThrough).toBe(2);
  });
});

describe('replay noise handling', () => {
  let svc: Services;
  let noisy: RecordedExchange;
  beforeAll(async () => {
    svc = await startServices();
    noisy = await captureH1(svc.h1, 'GET', '/api/noisy');
  });
  afterAll(async () => svc?.close());

  it('reports volatile fields as mismatches, unless masked or detected as noise', async () => {
    const plain = await replayExchanges([noisy], { target: svc.h1, timing: { mode: 'max' } });
    expect(plain[0]!.differences.map((d) => d.field).sort()).toEqual(['body:$.id', 'header:x-trace']);
    const masked = await replayExchanges([noisy], { target: svc.h1, timing: { mode: 'max' }, diff: { ignorePaths: ['$.id'], ignoreHeaders: ['X-Trace'] } });
    expect(masked[0]!.outcome).toBe('match');
    const detected = await replayExchanges([noisy], { target: svc.h1, timing: { mode: 'max' }, detectNoise: true });
    expect(detected[0]!.outcome).toBe('match');
    expect(detected[0]!.noise?.sort()).toEqual(['body:$.id', 'header:x-trace']);
  });

  it('rewrites headers and paths before sending, and reports a dead target as failed', async () => {
    const ex = await captureH1(svc.h1, 'POST', '/api/echo', { 'content-type': 'text/plain', 'x-secret': 'a' }, 'body');
    const moved = { ...ex, path: '/v2/echo' };
    const r = await replayExchanges([moved], { target: svc.h1, timing: { mode: 'max' }, rewrite: { rewritePaths: [['/v2/', '/api/']], setHeaders: [['content-type', 'application/x-other']] } });
    expect(r[0]!.differences).toEqual([{ field: 'header:content-type', expected: 'text/plain', actual: 'application/x-other' }]);
    const dead = await replayExchanges([ex], { target: 'http://127.0.0.1:1', timing: { mode: 'max' }, timeoutMs: 5000 });
    expect(dead[0]!.outcome).toBe('failed');
    expect(dead[0]!.error).toMatch(/ECONNREFUSED|connect/);
  });
});
