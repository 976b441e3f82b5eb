/**
 * The admin server: `/metrics` (Prometheus text), `/ready` (listeners up), `/live`.
 * Separate from traffic ports and never intercepted.
 */
import * as http from 'node:http';
import { MeshtapError } from '../common/index.js';
import type { ProxyMetrics } from './metrics.js';

export interface AdminServer {
  readonly address: string;
  close(): Promise<void>;
}

export async function startAdminServer(listen: { host: string; port: number }, metrics: ProxyMetrics, isReady: () => boolean): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (path === '/ready') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/live') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('live\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /ready or /live\n');
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MeshtapError('MT_LISTEN', `admin: cannot listen on ${listen.host}:${listen.port}: ${err.message}`, { cause: err })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    address: a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}
