/**
 * `meshtap mock`: serves recorded responses over HTTP/1.1 and cleartext HTTP/2 (gRPC too)
 * on one port — the first bytes tell which (the h2 preface) — like the sidecar's detector.
 * Unmatched requests get 404 (gRPC: UNIMPLEMENTED), or with a passthrough upstream go there:
 * HTTP through http2-proxy (HTTP/1 and h2 -> HTTP/1.1), gRPC through node:http2 (http2-proxy
 * only speaks HTTP/1.1 upstream, and gRPC needs h2 and trailers end to end).
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import proxy from 'http2-proxy';
import { request as undiciRequest } from 'undici';
import { createLogger, MeshtapError } from '../common/index.js';
import { decodeBody, type RecordedExchange } from './format.js';
import { bodyCodings, decodeCodings, H2_PREFACE, type HeaderList } from '../tap-protocol/index.js';
import { joinGrpcFrames } from './grpc-frames.js';
import { headersFromObject, headersToObject, headerValue, sendableHeaders } from './headers.js';
import { createMockIndex, type MockMatch } from './mock-index.js';

const log = createLogger('mock');
const GRPC_UNIMPLEMENTED = 12;
/** Largest request body buffered for `--match body`. */
export const MAX_MATCH_BODY_BYTES = 16 * 1024 * 1024;

export interface MockOptions {
  match?: MockMatch;
  /**
   * Serve the recorded `Date` header unchanged (and add none where the recording had none),
   * for byte-exact replays. Default false: the `Date` is the time of serving, as a real server's
   * is (a stale Date makes clients and caches misjudge freshness and clock skew).
   */
  keepDate?: boolean;
  /** Upstream for unmatched requests (`http://host:port`). */
  passthrough?: string;
}

export interface MockStats {
  served: number;
  unmatched: number;
  passedThrough: number;
}

export interface MockServer {
  /** Listens; resolves with the bound address. */
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
  readonly stats: MockStats;
}

const isGrpcRequest = (contentType: string | undefined): boolean => (contentType ?? '').startsWith('application/grpc');
const noLength = new Set(['content-length']);
/**
 * A compressed body recorded decoded (`decoded`: the recording's grant did not reveal every
 * header, session 16) is served as the decoded bytes, without its coding and with their length,
 * so a client reads the text it would have inflated. One recorded without its bytes (`omitted:
 * 'encoded'`, a coding meshtap does not decode) is served empty and without its coding, so a client
 * reads an empty body rather than failing to inflate nothing. A transfer coding is hop-by-hop
 * (never served). gRPC messages recorded decoded are re-framed uncompressed (flag 0), valid under
 * any grpc-encoding: the header stays.
 */
const noLengthNorCoding = new Set(['content-length', 'content-encoding', 'grpc-encoding']);
const skippedHeaders = (ex: RecordedExchange): ReadonlySet<string> =>
  ex.responseBody?.omitted === 'encoded' || ex.responseBody?.omitted === 'decode-budget' || ex.responseBody?.decoded !== undefined ? noLengthNorCoding : noLength;

function responseBody(ex: RecordedExchange): Buffer {
  return ex.protocol === 'grpc' ? joinGrpcFrames(ex.responseMessages ?? []) : decodeBody(ex.responseBody);
}

/**
 * A coded request body (Content-Encoding gzip, br, …) decoded, bounded as a matched body is: a
 * request recorded without the reveal grant was recorded decoded (session 16), so `--match body`
 * compares its text. Undefined when the request is not coded or does not decode.
 */
function decodedRequestBody(req: http.IncomingMessage | http2.Http2ServerRequest, body: Buffer): Buffer | undefined {
  const codings = bodyCodings(headersFromObject(req.headers));
  if (codings.length === 0) return undefined;
  const decoded = decodeCodings(body, codings, false, MAX_MATCH_BODY_BYTES);
  return decoded && !decoded.truncated ? decoded.bytes : undefined;
}

async function readBody(stream: AsyncIterable<Buffer>): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > MAX_MATCH_BODY_BYTES) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The recorded headers with each `Date` value replaced by the time of serving (its place and
 * case kept); unchanged with keepDate. Where none was recorded, node adds one (sendDate) unless keepDate.
 */
function currentDate(headers: HeaderList, keepDate: boolean): HeaderList {
  if (keepDate) return headers;
  const now = new Date().toUTCString();
  return headers.map(([n, v]) => (n.toLowerCase() === 'date' ? [n, now] : [n, v]));
}

function serveH1(res: http.ServerResponse, ex: RecordedExchange, keepDate: boolean): void {
  const body = responseBody(ex);
  const headers = currentDate(sendableHeaders(ex.responseHeaders, skippedHeaders(ex)), keepDate);
  res.sendDate = !keepDate;
  const trailers = sendableHeaders(ex.trailers);
  const flat: string[] = [];
  for (const [n, v] of headers) flat.push(n, v);
  if (trailers.length) flat.push('Trailer', [...new Set(trailers.map(([n]) => n))].join(', '));
  else flat.push('Content-Length', String(body.length));
  res.writeHead(ex.status ?? 200, flat);
  if (trailers.length) res.addTrailers(trailers);
  res.end(body);
}

/** HTTP/2 refuses repeated single-value fields (content-type, …): keep the first of each. */
const SINGLE_VALUE_HEADERS = new Set(['content-type', 'content-encoding', 'content-location', 'content-range', 'etag', 'expires', 'last-modified', 'location', 'age', 'date', 'server', 'user-agent']);

function h2Headers(list: ReturnType<typeof sendableHeaders>): Record<string, string | string[]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const [n, v] of list) {
    const name = n.toLowerCase();
    if (SINGLE_VALUE_HEADERS.has(name) && seen.has(name)) continue;
    seen.add(name);
    out.push([name, v]);
  }
  return headersToObject(out);
}

function serveH2(res: http2.Http2ServerResponse, ex: RecordedExchange, keepDate: boolean): void {
  const headers = h2Headers(currentDate(sendableHeaders(ex.responseHeaders, skippedHeaders(ex)), keepDate));
  res.sendDate = !keepDate;
  const trailers = sendableHeaders(ex.trailers).map(([n, v]): [string, string] => [n.toLowerCase(), v]);
  const body = responseBody(ex);
  if (ex.protocol === 'grpc' && trailers.length === 0 && body.length === 0 && headerValue(ex.responseHeaders, 'grpc-status') !== undefined) {
    // trailers-only; `sendDate` is read by node's respond() (lib/internal/http2/core.js) but not in its types
    res.stream.respond({ ':status': ex.status ?? 200, ...headers }, { endStream: true, sendDate: !keepDate } as http2.ServerStreamResponseOptions);
    return;
  }
  res.writeHead(ex.status ?? 200, headers);
  if (trailers.length) res.addTrailers(headersToObject(trailers));
  res.end(body);
}

function notFound(res: http.ServerResponse | http2.Http2ServerResponse, grpc: boolean, what: string): void {
  if (grpc && res instanceof http2.Http2ServerResponse) {
    res.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(GRPC_UNIMPLEMENTED), 'grpc-message': encodeURIComponent(`meshtap mock: no recorded response for ${what}`) }, { endStream: true });
    return;
  }
  const text = `meshtap mock: no recorded response for ${what}\n`;
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** gRPC (any h2) passthrough over node:http2, trailers included. */
function passGrpc(session: () => http2.ClientHttp2Session, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, body: Buffer | undefined): void {
  const headers: http2.OutgoingHttpHeaders = {};
  for (const [n, v] of Object.entries(req.headers)) if (!n.startsWith(':') || n === ':method' || n === ':path' || n === ':authority' || n === ':scheme') headers[n] = v;
  const up = session().request(headers);
  up.on('error', () => {
    if (!res.headersSent) notFound(res, true, `${req.method} ${req.url} (upstream failed)`);
    else res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  up.on('response', (h, flags) => {
    const out = headersToObject(headersFromObject(h).filter(([n]) => !n.startsWith(':')));
    if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
      res.stream.respond({ ':status': h[':status'], ...out }, { endStream: true });
      return;
    }
    res.writeHead(Number(h[':status']), out);
  });
  up.on('trailers', (t) => res.addTrailers(t as Record<string, string>));
  up.on('data', (c: Buffer) => res.write(c));
  up.on('end', () => {
    if (res.headersSent && !res.stream.closed) res.end();
  });
  if (body) up.end(body);
  else req.pipe(up);
}

/** Creates the mock over recorded exchanges. */
export function createMockServer(exchanges: readonly RecordedExchange[], options: MockOptions = {}): MockServer {
  const match = options.match ?? 'default';
  const keepDate = options.keepDate === true;
  const index = createMockIndex(exchanges, match);
  const stats: MockStats = { served: 0, unmatched: 0, passedThrough: 0 };
  const upstream = options.passthrough ? new URL(options.passthrough) : undefined;
  let upSession: http2.ClientHttp2Session | undefined;
  const upstreamSession = (): http2.ClientHttp2Session => {
    if (!upSession || upSession.closed || upSession.destroyed) {
      upSession = http2.connect(upstream!.origin);
      upSession.on('error', (err) => log.warn('passthrough session failed', { err: err.message }));
    }
    return upSession;
  };
  const passHttp = async (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, body: Buffer | undefined): Promise<void> => {
    if (body === undefined) {
      // http2-proxy streams the request itself; its errors end up here.
      await (proxy.web as (a: unknown, b: unknown, o: unknown) => Promise<void>)(req, res, { hostname: upstream!.hostname, port: Number(upstream!.port || 80) });
      return;
    }
    // The body was consumed for matching: forward it with undici instead.
    const headers = headersToObject(headersFromObject(req.headers).filter(([n]) => !n.startsWith(':') && !['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(n)));
    const up = await undiciRequest(new URL(req.url ?? '/', upstream!.origin), { method: req.method as 'GET', headers, body: body.length ? body : undefined });
    const out = headersFromObject(up.headers).filter(([n]) => !['connection', 'keep-alive', 'transfer-encoding'].includes(n));
    res.writeHead(up.statusCode, headersToObject(out));
    res.end(Buffer.from(await up.body.arrayBuffer()));
  };

  const handle = async (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const grpc = isGrpcRequest(req.headers['content-type']);
    let body: Buffer | undefined;
    if (match === 'body') {
      body = await readBody(req as AsyncIterable<Buffer>);
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'text/plain' });
        res.end(`meshtap mock: request body over ${MAX_MATCH_BODY_BYTES} bytes cannot be matched\n`);
        return;
      }
    }
    // Without body matching we answer at once (a bidi client may wait for us) and drain the rest.
    const ex = index.next(method, path, body) ?? (body && !grpc ? index.next(method, path, decodedRequestBody(req, body)) : undefined);
    if (ex) {
      stats.served++;
      if (!body) req.resume();
      if (res instanceof http2.Http2ServerResponse) serveH2(res, ex, keepDate);
      else serveH1(res, ex, keepDate);
      return;
    }
    if (!upstream) {
      stats.unmatched++;
      if (!body) req.resume();
      notFound(res, grpc, `${method} ${path}`);
      return;
    }
    stats.passedThrough++;
    if (grpc && req instanceof http2.Http2ServerRequest) passGrpc(upstreamSession, req, res as http2.Http2ServerResponse, body);
    else await passHttp(req, res, body);
  };
  const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      log.warn('request failed', { err: (err as Error).message, path: req.url });
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`meshtap mock: ${(err as Error).message}\n`);
      } else {
        res.end();
      }
    });
  };

  const h1 = http.createServer(onRequest);
  const h2 = http2.createServer({}, onRequest);
  h2.on('sessionError', () => undefined);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const n = Math.min(first.length, H2_PREFACE.length);
      const isH2 = first.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      // node:http2 reads buffered bytes itself and then the handle; HTTP/1 needs a resume.
      if (isH2) h2.emit('connection', socket);
      else {
        h1.emit('connection', socket);
        socket.resume();
      }
    });
  });
  return {
    stats,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        // A port in use is the user's to choose again: one line, not an 'unexpected error' stack.
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new MeshtapError('MT_LISTEN', `mock: cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${err.code ?? err.message}`, { cause: err })),
        );
        server.listen(port, host, () => {
          const a = server.address() as net.AddressInfo;
          resolve({ host: a.address, port: a.port });
        });
      }),
    close: async () => {
      upSession?.close();
      h1.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

