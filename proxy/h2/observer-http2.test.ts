/**
 * The HTTP/2 observer against real node:http2 traffic captured by a tee, fed whole and
 * re-chunked at random points.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '../observe.js';
import { captureConversation } from './test-support/capture.js';
import { listFrames } from './test-support/frames.js';
import { feedConversation, seededRandom, summarize, type LoggedChunk, type Recording } from './test-support/recording-sink.js';

const BIG_BODY = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefghij');
// Characters with long Huffman codes, so that the block stays over 16 KiB and needs CONTINUATION.
const BIG_HEADER = '~|{}'.repeat(5000);

let server: http2.Http2Server;
let serverPort: number;
const waitingN: Array<() => void> = [];

beforeAll(async () => {
  server = http2.createServer({ maxHeaderListPairs: 1000, maxSessionMemory: 100 } as http2.ServerOptions);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = headers[':path'];
    const body: Buffer[] = [];
    stream.on('data', (c: Buffer) => body.push(c));
    stream.on('end', () => {
      if (path === '/hello') {
        stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-resp': 'yes' });
        stream.end('hello world');
      } else if (path === '/echo') {
        stream.respond({ ':status': 201, 'content-type': 'application/octet-stream' });
        stream.end(Buffer.concat(body));
      } else if (path === '/big') {
        stream.respond({ ':status': 200 });
        stream.end(BIG_BODY);
      } else if (path === '/trailers') {
        stream.respond({ ':status': 200 }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123', 'x-count': '2' }));
        stream.end('data before trailers');
      } else if (path === '/big-header') {
        stream.respond({ ':status': 200, 'x-big': BIG_HEADER });
        stream.end();
      } else if (path === '/early-hints') {
        stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
        stream.respond({ ':status': 204 });
        stream.end();
      } else if (path === '/n') {
        // Answer only once all 100 requests are in, so all 100 streams are open at once.
        waitingN.push(() => {
          stream.respond({ ':status': 200, 'x-n': String(headers['x-n']) });
          stream.end(`n=${String(headers['x-n'])}`);
        });
        if (waitingN.length === 100) waitingN.splice(0).forEach((answer) => answer());
      }
    });
    if (path === '/goaway-trigger') {
      // Refuse this stream and everything after stream 1: GOAWAY(last-stream-id 1).
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    }
    if (path === '/hang') {
      // Answer the head, then never finish: the client cancels.
      stream.respond({ ':status': 200 });
      stream.write('partial');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverPort = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Response {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers?: http2.IncomingHttpHeaders;
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: body === undefined });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (resHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers: resHeaders, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** Opens a client through the tee, runs `fn`, closes it gracefully. */
function withClient(fn: (client: http2.ClientHttp2Session, authority: string) => Promise<void>): Promise<LoggedChunk[]> {
  return captureConversation(serverPort, async (port) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    try {
      await fn(client, `127.0.0.1:${port}`);
    } finally {
      if (!client.destroyed) await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });
}

function header(list: Array<[string, string]>, name: string): string | undefined {
  return list.find(([n]) => n === name)?.[1];
}

/** Feeding whole and at random split points must report exactly the same. */
function expectSameUnderSplits(log: LoggedChunk[], whole: Recording, seeds = 5, bodyLimit?: number): void {
  for (let seed = 1; seed <= seeds; seed++) {
    const split = feedConversation(log, { random: seededRandom(seed), bodyLimit });
    expect(split.calls, `seed ${seed}`).toEqual(whole.calls);
    expect(split.ended.map(summarize), `seed ${seed}`).toEqual(whole.ended.map(summarize));
  }
}

function only(rec: Recording): Exchange {
  expect(rec.giveUps).toEqual([]);
  expect(rec.ended).toHaveLength(1);
  return rec.ended[0]!;
}

describe('HTTP/2 observer on real node:http2 traffic', () => {
  it('reports a GET with method, path, authority, headers, status and body bytes', async () => {
    let authority = '';
    const log = await withClient(async (client, a) => {
      authority = a;
      const res = await request(client, { ':method': 'GET', ':path': '/hello', 'x-req': 'one' });
      expect(res.body.toString()).toBe('hello world');
    });
    const rec = feedConversation(log);
    const ex = only(rec);
    expect(rec.calls).toEqual(['req:1', 'rsp:1', 'end:1']);
    expect(ex).toMatchObject({
      stream: 1,
      protocol: 'h2',
      method: 'GET',
      scheme: 'http',
      authority,
      path: '/hello',
      status: 200,
      requestBytes: 0,
      responseBytes: 11,
      trailers: [],
    });
    expect(ex.error).toBeUndefined();
    // Pseudo-headers first, in wire order, then the regular ones.
    const names = ex.requestHeaders.map(([n]) => n);
    expect(names.slice(0, 4).sort()).toEqual([':authority', ':method', ':path', ':scheme']);
    expect(header(ex.requestHeaders, 'x-req')).toBe('one');
    expect(ex.responseHeaders[0]).toEqual([':status', '200']);
    expect(header(ex.responseHeaders, 'content-type')).toBe('text/plain');
    expect(header(ex.responseHeaders, 'x-resp')).toBe('yes');
    expect(ex.startMs).toBeLessThan(ex.responseMs);
    expect(ex.responseMs).toBeLessThan(ex.endMs);
    expectSameUnderSplits(log, rec);
  });

  it('counts request and response body bytes and captures bodies when asked', async () => {
    const payload = Buffer.from('x'.repeat(100_000) + 'end');
    const log = await withClient(async (client) => {
      const res = await request(client, { ':method': 'POST', ':path': '/echo' }, payload);
      expect(res.body.equals(payload)).toBe(true);
    });
    const ex = only(feedConversation(log, { bodyLimit: 1000 }));
    expect(ex).toMatchObject({ method: 'POST', status: 201, requestBytes: payload.length, responseBytes: payload.length });
    expect(ex.requestBody).toMatchObject({ size: payload.length, captured: 1000, truncated: true });
    expect(Buffer.concat(ex.requestBody!.chunks)).toEqual(payload.subarray(0, 1000));
    expect(Buffer.concat(ex.responseBody!.chunks)).toEqual(payload.subarray(0, 1000));
    expectSameUnderSplits(log, feedConversation(log, { bodyLimit: 1000 }), 3, 1000);
  });

  it('follows a multi-MiB response body across many DATA frames', async () => {
    const log = await withClient(async (client) => {
      const res = await request(client, { ':path': '/big' });
      expect(res.body.length).toBe(BIG_BODY.length);
    });
    const rec = feedConversation(log);
    expect(only(rec)).toMatchObject({ status: 200, responseBytes: BIG_BODY.length, requestBytes: 0 });
    expectSameUnderSplits(log, rec, 2);
  });

  it('reports response trailers', async () => {
    const log = await withClient(async (client) => {
      const res = await request(client, { ':path': '/trailers' });
      expect(res.trailers?.['x-checksum']).toBe('abc123');
    });
    const ex = only(feedConversation(log));
    expect(ex.trailers).toEqual([
      ['x-checksum', 'abc123'],
      ['x-count', '2'],
    ]);
    expect(ex.responseBytes).toBe('data before trailers'.length);
  });

  it('reassembles CONTINUATION frames of a 20 KB header block in both directions', async () => {
    const log = await withClient(async (client) => {
      const res = await request(client, { ':path': '/big-header', 'x-big-req': BIG_HEADER });
      expect(res.headers['x-big']).toBe(BIG_HEADER);
    });
    // The capture really holds CONTINUATION frames (type 9) in both directions.
    expect(listFrames(log, true).some((f) => f.type === 9)).toBe(true);
    expect(listFrames(log, false).some((f) => f.type === 9)).toBe(true);
    const rec = feedConversation(log);
    const ex = only(rec);
    expect(header(ex.requestHeaders, 'x-big-req')).toBe(BIG_HEADER);
    expect(header(ex.responseHeaders, 'x-big')).toBe(BIG_HEADER);
    expectSameUnderSplits(log, rec, 3);
    // With a header limit below the block: the right reason, once.
    const limited = feedConversation(log, { limits: { maxHeaderBytes: 8 * 1024 } });
    expect(limited.giveUps).toEqual(['h2-header-too-large']);
  });

  it('skips 1xx informational responses and reports the final head', async () => {
    const log = await withClient(async (client) => {
      const res = await request(client, { ':path': '/early-hints' });
      expect(res.headers[':status']).toBe(204);
    });
    const rec = feedConversation(log);
    expect(rec.calls).toEqual(['req:1', 'rsp:1', 'end:1']);
    expect(only(rec).status).toBe(204);
  });

  it('tracks 100 concurrent streams on one connection and frees each one', async () => {
    const log = await withClient(async (client) => {
      const all = Array.from({ length: 100 }, (_, i) => request(client, { ':path': '/n', 'x-n': String(i) }));
      const results = await Promise.all(all);
      expect(results.map((r) => r.body.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `n=${i}`));
    });
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended).toHaveLength(100);
    const byN = new Map(rec.ended.map((ex) => [header(ex.requestHeaders, 'x-n'), ex]));
    for (let i = 0; i < 100; i++) {
      const ex = byN.get(String(i))!;
      expect(ex).toMatchObject({ status: 200, responseBytes: `n=${i}`.length, path: '/n' });
      expect(header(ex.responseHeaders, 'x-n')).toBe(String(i));
      expect(ex.error).toBeUndefined();
    }
    expect(new Set(rec.ended.map((ex) => ex.stream)).size).toBe(100);
    expectSameUnderSplits(log, rec, 2);
    // 100 concurrent streams exceed a limit of 10 (they are all open at once on the wire).
    expect(feedConversation(log, { limits: { maxStreams: 10 } }).giveUps).toEqual(['h2-too-many-streams']);
  });

  it('ends a cancelled stream (RST_STREAM) with error reset', async () => {
    const log = await withClient(async (client) => {
      await new Promise<void>((resolve, reject) => {
        const req = client.request({ ':path': '/hang' });
        req.on('error', () => {});
        req.on('data', () => {
          req.close(http2.constants.NGHTTP2_CANCEL);
        });
        req.on('close', () => resolve());
        setTimeout(() => reject(new Error('no response')), 20_000).unref();
      });
      // A second request after the reset still works and is observed.
      await request(client, { ':path': '/hello' });
    });
    expect(listFrames(log, true).filter((f) => f.type === 3).map((f) => f.streamId)).toEqual([1]);
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    // A client's reset waits briefly for a response that crossed it, so /hang may end after /hello.
    expect(rec.ended.map((ex) => [ex.stream, ex.path, ex.status, ex.error]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, '/hang', 200, 'reset'],
      [3, '/hello', 200, undefined],
    ]);
    expect(rec.ended.find((ex) => ex.stream === 1)!.responseBytes).toBe('partial'.length);
  });

  it('GOAWAY from the server ends streams above its last-stream-id with error goaway', async () => {
    const log = await withClient(async (client) => {
      const first = client.request({ ':path': '/hang' });
      first.on('error', () => {});
      await new Promise<void>((resolve) => first.once('response', () => resolve()));
      const second = client.request({ ':path': '/goaway-trigger' });
      await new Promise<void>((resolve) => {
        second.on('error', () => resolve());
        second.on('close', () => resolve());
      });
      first.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise<void>((resolve) => first.on('close', () => resolve()));
      // After a GOAWAY a graceful close() waits for the server to hang up, which node's
      // server does not do: end the session here.
      client.destroy();
    });
    expect(listFrames(log, false).some((f) => f.type === 7)).toBe(true);
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => [ex.stream, ex.path, ex.error])).toEqual([
      [3, '/goaway-trigger', 'goaway'],
      [1, '/hang', 'reset'],
    ]);
  });

  it('real padded frames (paddingStrategy MAX on both ends): byte counts exclude padding', async () => {
    const padServer = http2.createServer({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    padServer.on('stream', (stream) => {
      stream.on('error', () => {});
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'x-padded': 'yes' });
        stream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => padServer.listen(0, '127.0.0.1', resolve));
    try {
      const payload = Buffer.from('padded body '.repeat(50));
      const log = await captureConversation((padServer.address() as net.AddressInfo).port, async (port) => {
        const client = http2.connect(`http://127.0.0.1:${port}`, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
        client.on('error', () => {});
        const res = await request(client, { ':method': 'POST', ':path': '/pad' }, payload);
        expect(res.body.equals(payload)).toBe(true);
        await new Promise<void>((resolve) => client.close(() => resolve()));
      });
      // The capture really is padded (PADDED flag 0x8) in both directions.
      expect(listFrames(log, true).some((f) => (f.type === 0 || f.type === 1) && f.flags & 0x8)).toBe(true);
      expect(listFrames(log, false).some((f) => (f.type === 0 || f.type === 1) && f.flags & 0x8)).toBe(true);
      const rec = feedConversation(log, { bodyLimit: 10_000 });
      const ex = only(rec);
      expect(ex).toMatchObject({ status: 200, requestBytes: payload.length, responseBytes: payload.length });
      expect(Buffer.concat(ex.responseBody!.chunks)).toEqual(payload);
      expect(header(ex.responseHeaders, 'x-padded')).toBe('yes');
      expectSameUnderSplits(log, rec, 3, 10_000);
    } finally {
      await new Promise<void>((resolve) => padServer.close(() => resolve()));
    }
  });
});
