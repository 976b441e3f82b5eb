/**
 * The HTTP/2 observer on traffic from real command-line clients: curl (prior knowledge) and
 * nghttp (which also sends PRIORITY frames for idle streams). Skipped with a reason when a
 * client is not installed (Debian: curl, nghttp2-client).
 */
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import type net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureConversations } from './test-support/capture.js';
import { listFrames } from './test-support/frames.js';
import { feedConversation, seededRandom, summarize, type LoggedChunk } from './test-support/recording-sink.js';

const run = promisify(execFile);

async function hasTool(cmd: string, args: string[]): Promise<boolean> {
  try {
    const { stdout } = await run(cmd, args);
    return cmd !== 'curl' || /\bHTTP2\b/.test(stdout);
  } catch {
    return false;
  }
}
const hasCurl = await hasTool('curl', ['--version']);
const hasNghttp = await hasTool('nghttp', ['--version']);

let server: http2.Http2Server;
let serverPort: number;

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': headers[':path'] === '/missing' ? 404 : 200, 'content-type': 'text/plain', 'x-path': String(headers[':path']) });
      stream.end(headers[':method'] === 'POST' ? Buffer.concat(chunks) : `you asked for ${String(headers[':path'])}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverPort = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function checkSplits(log: LoggedChunk[]): void {
  const whole = feedConversation(log);
  for (let seed = 1; seed <= 4; seed++) {
    const split = feedConversation(log, { random: seededRandom(seed) });
    expect(split.calls).toEqual(whole.calls);
    expect(split.ended.map(summarize)).toEqual(whole.ended.map(summarize));
  }
}

describe('HTTP/2 observer on curl and nghttp traffic', () => {
  // curl 7.88 fails when it re-uses a prior-knowledge connection (error 16, also without
  // meshtap in the path), so each curl run makes one request.
  it.skipIf(!hasCurl)('curl --http2-prior-knowledge GET (needs curl with HTTP2)', async () => {
    const conns = await captureConversations(serverPort, async (port) => {
      const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '-H', 'x-curl: first', `http://127.0.0.1:${port}/a/b?c=d`]);
      expect(stdout).toBe('you asked for /a/b?c=d');
    });
    expect(conns).toHaveLength(1);
    const log = conns[0]!;
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => [ex.stream, ex.method, ex.scheme, ex.path, ex.status, ex.responseBytes, ex.error])).toEqual([
      [1, 'GET', 'http', '/a/b?c=d', 200, 'you asked for /a/b?c=d'.length, undefined],
    ]);
    const ex = rec.ended[0]!;
    expect(ex.requestHeaders).toContainEqual(['x-curl', 'first']);
    expect(ex.requestHeaders.find(([n]) => n === 'user-agent')?.[1]).toMatch(/^curl\//);
    expect(ex.authority).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ex.responseHeaders).toContainEqual(['x-path', '/a/b?c=d']);
    checkSplits(log);
  });

  it.skipIf(!hasCurl)('curl POST with a body (needs curl with HTTP2)', async () => {
    const body = 'k=v&'.repeat(5000);
    const conns = await captureConversations(serverPort, async (port) => {
      const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '--data-binary', body, `http://127.0.0.1:${port}/post`]);
      expect(stdout).toBe(body);
    });
    const rec = feedConversation(conns[0]!);
    expect(rec.ended.map((ex) => [ex.method, ex.requestBytes, ex.responseBytes, ex.status])).toEqual([
      ['POST', body.length, body.length, 200],
    ]);
    checkSplits(conns[0]!);
  });

  it.skipIf(!hasNghttp)('nghttp: PRIORITY frames, concurrent requests, upload (needs nghttp2-client)', async () => {
    const conns = await captureConversations(serverPort, async (port) => {
      const { stdout } = await run('nghttp', [
        '-n',
        '-H',
        'x-ng: yes',
        `http://127.0.0.1:${port}/one`,
        `http://127.0.0.1:${port}/two`,
        `http://127.0.0.1:${port}/three`,
      ]);
      expect(stdout).toBe('');
    });
    const log = conns[0]!;
    // nghttp announces its dependency tree with PRIORITY frames on idle streams.
    expect(listFrames(log, true).some((f) => f.type === 2)).toBe(true);
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => [ex.path, ex.status, ex.error]).sort()).toEqual([
      ['/one', 200, undefined],
      ['/three', 200, undefined],
      ['/two', 200, undefined],
    ]);
    for (const ex of rec.ended) expect(ex.requestHeaders).toContainEqual(['x-ng', 'yes']);
    checkSplits(log);
  });
});
