/**
 * Naive Node proxies a user might write instead of running a sidecar — the peers that show
 * what Node itself costs, with and without parsing. One process, one kind:
 *   net-pipe       L4: `net` sockets piped both ways, no parsing at all
 *   undici-pool    HTTP/1 → HTTP/1: node:http server, undici Pool (keep-alive) upstream
 *   http2-proxy    h1 or h2c front (node:http2 with allowHTTP1 is TLS-only, so --front picks)
 *                  → HTTP/1.1 upstream via the http2-proxy library (it cannot carry gRPC)
 *   h2-forward     node:http2 → node:http2: one upstream session, each stream re-originated
 *                  with its headers and trailers (carries gRPC)
 * Prints `listening ADDR` then `ready` on stderr.
 * Usage: node dist/bench/node-proxy.js --kind KIND --target HOST:PORT [--front h1|h2]
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import proxy from 'http2-proxy';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { kind: { type: 'string' }, target: { type: 'string' }, front: { type: 'string' } } });
const [host, portText] = String(values.target ?? '').split(':');
const port = Number(portText);
if (!host || !port) {
  process.stderr.write('node-proxy: --target HOST:PORT is required\n');
  process.exit(2);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

function netPipe(): net.Server {
  return net.createServer((client) => {
    const upstream = net.connect({ port, host, noDelay: true });
    client.setNoDelay(true);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

function undiciPool(): http.Server {
  const pool = new Pool(`http://${host}:${port}`, { connections: 128, pipelining: 1 });
  return http.createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.request({ method: req.method as 'GET', path: req.url ?? '/', headers, body: hasBody ? req : undefined }).then(
      (up) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        res.writeHead(up.statusCode, out);
        up.body.pipe(res);
        up.body.on('error', () => res.destroy());
      },
      () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    );
  });
}

function http2ProxyHandler(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  proxy.web(req as http.IncomingMessage, res as http.ServerResponse, { hostname: host, port }, (err) => {
    if (err) {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
}

function h2Forward(): http2.Http2Server {
  let session: http2.ClientHttp2Session | undefined;
  const upstream = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(`http://${host}:${port}`, { settings: { initialWindowSize: 1 << 20 } });
      session.on('error', () => {});
    }
    return session;
  };
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000, initialWindowSize: 1 << 20 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const fwd: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) || (k === 'te' && v === 'trailers')) fwd[k] = v;
    const up = upstream().request(fwd, { endStream: false });
    up.on('error', () => stream.destroy());
    stream.on('close', () => {
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
    up.on('response', (h) => {
      if (stream.destroyed || stream.closed) return;
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k)) out[k] = v;
      stream.respond(out, { waitForTrailers: true });
    });
    let trailers: http2.IncomingHttpHeaders | undefined;
    up.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => {
      if (stream.destroyed) return;
      // no upstream trailers: an empty trailer block still ends the stream
      stream.sendTrailers((trailers ?? {}) as http2.OutgoingHttpHeaders);
    });
    stream.pipe(up);
    up.pipe(stream);
  });
  server.on('sessionError', () => {});
  return server;
}

let server: net.Server | http.Server | http2.Http2Server;
switch (values.kind) {
  case 'net-pipe':
    server = netPipe();
    break;
  case 'undici-pool':
    server = undiciPool();
    break;
  case 'http2-proxy':
    if (values.front === 'h2') {
      const s = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
      s.on('request', http2ProxyHandler);
      server = s;
    } else {
      server = http.createServer(http2ProxyHandler);
    }
    break;
  case 'h2-forward':
    server = h2Forward();
    break;
  default:
    process.stderr.write(`node-proxy: --kind takes net-pipe, undici-pool, http2-proxy or h2-forward, not '${values.kind}'\n`);
    process.exit(2);
}
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening 127.0.0.1:${(server.address() as AddressInfo).port}\nready\n`);
});
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
