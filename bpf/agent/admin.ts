/**
 * The agent's admin listener: `/metrics` (Prometheus text), `/ready` (the first pod list
 * has been applied and the watch runs), `/live`, and `/pods` (what the agent did for each
 * pod, as JSON, for people debugging a node).
 */
import * as http from 'node:http';
import { MeshtapError } from '../../common/index.js';
import type { AgentMetrics } from './metrics.js';

/** A listening admin server. */
export interface AgentAdminServer {
  /** `host:port` (or `[v6]:port`) it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the admin server on `listen` (port 0: a free port). */
export async function startAgentAdmin(
  listen: { host: string; port: number },
  metrics: AgentMetrics,
  isReady: () => boolean,
  podStatus: () => unknown,
): Promise<AgentAdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (path === '/ready') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/live') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('live\n');
    } else if (path === '/pods') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(podStatus())}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /ready, /live or /pods\n');
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MeshtapError('MT_LISTEN', `agent admin: cannot listen on ${listen.host}:${listen.port}: ${err.message}`, { cause: err })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    address: a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}
