/**
 * Real clients (undici, curl) and a real node:http server, with a plain TCP forwarder between
 * them that hands every forwarded chunk to the observer, as the connection layer does.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Client, WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS, createBodyCapture, type Exchange } from '../observe.js';
import { createHttp1Observer } from './index.js';

const run = promisify(execFile);
const closers: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Seen {
  ends: Exchange[];
  heads: string[];
  giveUps: string[];
  upgrades: number;
  waitFor(predicate: () => boolean): Promise<void>;
}

/** A forwarder on 127.0.0.1:0 to `targetPort` that observes every connection. */
async function startForwarder(targetPort: number): Promise<{ port: number; seen: Seen }> {
  const waiters: Array<{ predicate: () => boolean; resolve: () => void }> = [];
  const seen: Seen = {
    ends: [],
    heads: [],
    giveUps: [],
    upgrades: 0,
    waitFor(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
  const poke = () => {
    for (const w of waiters.slice()) {
      if (w.predicate()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const observer = createHttp1Observer({
      sink: {
        requestHead(ex) {
          seen.heads.push(`${ex.method} ${ex.path}`);
          ex.requestBody = createBodyCapture(1024);
          ex.responseBody = createBodyCapture(1024);
        },
        responseHead() {},
        end(ex) {
          seen.ends.push(ex);
          poke();
        },
        giveUp(reason) {
          seen.giveUps.push(reason);
          poke();
        },
        upgraded() {
          seen.upgrades++;
          poke();
        },
      },
      limits: DEFAULT_OBSERVER_LIMITS,
      now: () => performance.now(),
    });
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      observer.clientData(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      observer.serverData(chunk);
    });
    client.on('end', () => {
      upstream.end();
      observer.clientEnd();
    });
    upstream.on('end', () => {
      client.end();
      observer.serverEnd();
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      observer.close();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, seen };
}

async function startHttpServer(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return server;
}

const portOf = (s: http.Server | net.Server) => (s.address() as net.AddressInfo).port;

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('HTTP/1 observer: real traffic', () => {
  it('follows pipelined undici requests: CL and chunked bodies, trailers, HEAD, 204', async () => {
    const server = await startHttpServer(async (req, res) => {
      const body = await readBody(req);
      if (req.url === '/empty') {
        res.writeHead(204).end();
      } else if (req.url === '/trailers') {
        res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'X-Checksum' });
        res.write('part one,');
        res.addTrailers({ 'X-Checksum': 'abc123' });
        res.end('part two');
      } else {
        res.setHeader('Content-Length', String(body.length + 5));
        res.end(req.method === 'HEAD' ? undefined : Buffer.concat([Buffer.from('echo:'), body]));
      }
    });
    const { port, seen } = await startForwarder(portOf(server));
    const client = new Client(`http://127.0.0.1:${port}`, { pipelining: 4 });
    closers.push(() => client.close());
    const results = await Promise.all([
      client.request({ path: '/cl', method: 'POST', body: 'hello body', headers: { 'X-Mixed-Case': 'Yes' } }),
      client.request({ path: '/chunked', method: 'PUT', body: Readable.from([Buffer.from('abc'), Buffer.from('defg')]) }),
      client.request({ path: '/head', method: 'HEAD' }),
      client.request({ path: '/empty', method: 'GET' }),
      client.request({ path: '/trailers', method: 'GET' }),
    ]);
    for (const r of results) await r.body.text();
    await seen.waitFor(() => seen.ends.length === 5);
    expect(seen.giveUps).toEqual([]);
    const byPath = new Map(seen.ends.map((e) => [e.path, e]));
    const cl = byPath.get('/cl') as Exchange;
    expect(cl).toMatchObject({ method: 'POST', status: 200, requestBytes: 10, responseBytes: 15, protocol: 'http/1.1' });
    expect(cl.authority).toBe(`127.0.0.1:${port}`);
    expect(cl.requestHeaders).toContainEqual(['X-Mixed-Case', 'Yes']);
    expect(Buffer.concat(cl.responseBody?.chunks ?? []).toString()).toBe('echo:hello body');
    expect(byPath.get('/chunked')).toMatchObject({ method: 'PUT', requestBytes: 7, responseBytes: 12 });
    expect(Buffer.concat(byPath.get('/chunked')?.requestBody?.chunks ?? []).toString()).toBe('abcdefg');
    expect(byPath.get('/head')).toMatchObject({ method: 'HEAD', status: 200, responseBytes: 0 });
    expect(byPath.get('/empty')).toMatchObject({ status: 204, responseBytes: 0 });
    expect(byPath.get('/trailers')).toMatchObject({ status: 200, responseBytes: 17, trailers: [['X-Checksum', 'abc123']] });
    for (const e of seen.ends) expect(e.error).toBeUndefined();
  });

  it('follows curl over HTTP/1.0 and a chunked upload with Expect: 100-continue', async () => {
    const server = await startHttpServer(async (req, res) => {
      const body = await readBody(req);
      res.end(`got ${body.length}`);
    });
    const { port, seen } = await startForwarder(portOf(server));
    const url = `http://127.0.0.1:${port}`;
    await run('curl', ['-sS', '--http1.0', '-H', 'X-From: curl', `${url}/ten`]);
    await run('curl', ['-sS', '-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue', '--data-binary', 'x'.repeat(3000), `${url}/upload`]);
    await seen.waitFor(() => seen.ends.length === 2);
    expect(seen.giveUps).toEqual([]);
    expect(seen.ends[0]).toMatchObject({ protocol: 'http/1.0', path: '/ten', status: 200, responseBytes: 5 });
    expect(seen.ends[0].requestHeaders).toContainEqual(['X-From', 'curl']);
    expect(seen.ends[1]).toMatchObject({ method: 'POST', status: 200, requestBytes: 3000, responseBytes: 8 });
    expect(seen.ends[1].requestBody?.truncated).toBe(true);
  });

  it('reports a WebSocket upgrade and then leaves the connection alone', async () => {
    const server = await startHttpServer((_req, res) => res.end());
    server.on('upgrade', (req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(req.headers['sec-websocket-key'] as string)}\r\n\r\n`);
      socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // text frame "hi"
      socket.on('error', () => {});
    });
    const { port, seen } = await startForwarder(portOf(server));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
    closers.push(() => ws.close());
    const message = await new Promise<string>((resolve, reject) => {
      ws.addEventListener('message', (e) => resolve(String(e.data)));
      ws.addEventListener('error', () => reject(new Error('websocket error')));
    });
    expect(message).toBe('hi');
    await seen.waitFor(() => seen.upgrades === 1);
    expect(seen.ends).toHaveLength(1);
    expect(seen.ends[0]).toMatchObject({ method: 'GET', path: '/socket', status: 101 });
    expect(seen.giveUps).toEqual([]);
  });
});

function acceptKey(key: string): string {
  // RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}
