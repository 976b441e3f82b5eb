/**
 * A real node:http2 cleartext (h2c) origin server for transparency tests. It records every
 * request's raw header list (wire order, pseudo-headers included) and body digest, so a test
 * can predict the exact tap events: `/hello` (tiny body + trailers), `/echo/*` (echoes the
 * body), `/big/N` (N deterministic bytes).
 */
import { createHash } from 'node:crypto';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  path: string;
  /** The HTTP/2 stream id it came on. */
  streamId: number;
  rawHeaders: Array<[string, string]>;
  bodyBytes: number;
  bodySha256: string;
}

export interface H2Origin {
  readonly port: number;
  readonly seen: Map<string, SeenRequest>;
  /** Closes every open session (node:http2 keeps a connection open after its GOAWAY until told). */
  destroySessions(): void;
  close(): Promise<void>;
}

/** `n` bytes that any party can regenerate (a byte pattern, not random, so no state is shared). */
export function patternBytes(n: number, seed = 7): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}

export function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

export async function startH2Origin(): Promise<H2Origin> {
  const seen = new Map<string, SeenRequest>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 512 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url;
      seen.set(path, { path, streamId: req.stream.id ?? 0, rawHeaders: pairs(req.rawHeaders), bodyBytes: body.length, bodySha256: createHash('sha256').update(body).digest('hex') });
      res.sendDate = false;
      if (path === '/hello') {
        res.setHeader('x-b', '1');
        res.addTrailers({ 'x-t': '2' });
        res.end('hi');
      } else if (path.startsWith('/echo/')) {
        res.setHeader('x-len', String(body.length));
        res.end(body);
      } else if (path.startsWith('/big/')) {
        const n = Number(path.split('/')[2]);
        res.setHeader('content-length', String(n));
        res.end(patternBytes(n));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    destroySessions() {
      for (const s of sessions) s.destroy();
    },
    close() {
      for (const s of sessions) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
