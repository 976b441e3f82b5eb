/**
 * Sends HTTP exchanges to the target: HTTP/1.x through an undici Pool (keep-alive, as many
 * connections as the replay concurrency), HTTP/2 through one node:http2 session per target
 * (reopened when it goes away), request trailers included.
 */
import * as http2 from 'node:http2';
import { Pool } from 'undici';
import type { HeaderList } from '../tap-protocol/index.js';
import { headersFromObject, headersToObject } from './headers.js';
import { MAX_COMPARE_BODY_BYTES, type ReplayRequest, type ReplayResponse } from './replay-types.js';

/** Collects a byte stream up to the comparison limit (the rest is read and dropped). */
async function collect(stream: AsyncIterable<Buffer | string>): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const c of stream) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    const room = MAX_COMPARE_BODY_BYTES - size;
    if (room <= 0) {
      truncated ||= chunk.length > 0;
      continue;
    }
    chunks.push(chunk.length <= room ? chunk : chunk.subarray(0, room));
    if (chunk.length > room) truncated = true;
    size += Math.min(room, chunk.length);
  }
  return { body: Buffer.concat(chunks), truncated };
}

/** The HTTP/1 and HTTP/2 senders for one target origin. */
export interface HttpReplayClient {
  send(req: ReplayRequest): Promise<ReplayResponse>;
  close(): Promise<void>;
  /** Drops every connection at once (a stopped replay does not wait for answers). */
  destroy(): void;
}

/** Creates the HTTP senders for `origin` (`http://host:port`). */
export function createHttpReplayClient(origin: string, connections: number): HttpReplayClient {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  let session: http2.ClientHttp2Session | undefined;
  const h2session = (): http2.ClientHttp2Session => {
    if (!session || session.closed || session.destroyed) {
      const s = http2.connect(origin);
      s.on('error', () => undefined);
      s.on('close', () => {
        if (session === s) session = undefined;
      });
      session = s;
    }
    return session;
  };

  const sendH1 = async (req: ReplayRequest): Promise<ReplayResponse> => {
    const start = performance.now();
    const headers: Record<string, string | string[]> = headersToObject(req.headers.filter(([n]) => n.toLowerCase() !== 'content-length'));
    headers.host = req.authority;
    const hasBody = req.body.length > 0 || !['GET', 'HEAD'].includes(req.method);
    const res = await pool.request({
      method: req.method as 'GET',
      path: req.path,
      headers,
      body: hasBody ? req.body : undefined,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const latencyMs = performance.now() - start;
    const { body, truncated } = await collect(res.body);
    return {
      status: res.statusCode,
      headers: headersFromObject(res.headers),
      trailers: headersFromObject(res.trailers),
      body,
      bodyTruncated: truncated,
      messages: [],
      latencyMs,
      durationMs: performance.now() - start,
    };
  };

  const sendH2 = (req: ReplayRequest): Promise<ReplayResponse> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const hasTrailers = req.trailers.length > 0;
      const stream = h2session().request(
        {
          ...headersToObject(req.headers),
          ':method': req.method,
          ':path': req.path,
          ':authority': req.authority,
          ':scheme': 'http',
        },
        { endStream: req.body.length === 0 && !hasTrailers, waitForTrailers: hasTrailers },
      );
      stream.setTimeout(req.timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      let headers: HeaderList = [];
      let trailers: HeaderList = [];
      let status: number | undefined;
      let latencyMs = 0;
      stream.on('response', (h) => {
        latencyMs = performance.now() - start;
        status = Number(h[':status']);
        headers = headersFromObject(h).filter(([n]) => !n.startsWith(':'));
      });
      stream.on('trailers', (t) => {
        trailers = headersFromObject(t);
      });
      if (hasTrailers) stream.on('wantTrailers', () => stream.sendTrailers(headersToObject(req.trailers)));
      if (req.body.length > 0 || hasTrailers) stream.end(req.body);
      collect(stream).then(
        ({ body, truncated }) => {
          if (status === undefined) return reject(new Error(`stream closed without a response (code ${stream.rstCode ?? '?'})`));
          resolve({ status, headers, trailers, body, bodyTruncated: truncated, messages: [], latencyMs, durationMs: performance.now() - start });
        },
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    });

  return {
    send: (req) => (req.protocol === 'h2' ? sendH2(req) : sendH1(req)),
    destroy() {
      void pool.destroy().catch(() => undefined);
      session?.destroy();
      session = undefined;
    },
    async close() {
      await pool.close().catch(() => undefined);
      const s = session;
      session = undefined;
      if (s && !s.closed) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
