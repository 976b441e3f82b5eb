/**
 * The admin listener every meshtap process with metrics serves (the sidecar, the node agent):
 * `/metrics` (Prometheus text from a prom-client registry), `/ready`, `/live`, `/version` (the
 * build, as `meshtap version` shows it), plus any extra
 * JSON routes. Separate from traffic ports and never intercepted; bounded request time.
 */
import * as http from 'node:http';
import type { Registry } from 'prom-client';
import { MeshtapError } from './errors.js';
import { formatHostPort } from './host-port.js';
import { httpDate } from './utc-time.js';
import { buildInfo } from './version.js';

export interface AdminServer {
  /** `host:port` (or `[v6]:port`) it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  /** Names the server in errors (`admin`, `agent admin`). */
  what: string;
  registry: Registry;
  isReady: () => boolean;
  /** Extra GET routes answered with JSON (e.g. the agent's `/pods`). */
  jsonRoutes?: Record<string, () => unknown>;
  /** Runs before each `/metrics` render (e.g. an engine hands over what it still holds). */
  beforeScrape?: () => void;
}

/** Starts the admin server on `listen` (port 0: a free port). */
export async function startAdminServer(listen: { host: string; port: number }, o: AdminServerOptions): Promise<AdminServer> {
  const routes = ['/metrics', '/ready', '/live', '/version', ...Object.keys(o.jsonRoutes ?? {})];
  const server = http.createServer((req, res) => {
    // The Date header node would add, written without Date's toUTCString (which loads ICU's time-zone data: common/utc-time.ts).
    res.setHeader('date', httpDate(Date.now()));
    const path = (req.url ?? '/').split('?')[0];
    const json = o.jsonRoutes?.[path];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      try {
        o.beforeScrape?.();
      } catch {
        // A failing hook costs this scrape's freshness, never the scrape.
      }
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (path === '/ready') {
      const ready = o.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/live') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('live\n');
    } else if (path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(buildInfo())}\n`);
    } else if (json) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(json())}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${routes.join(', ')}\n`);
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MeshtapError('MT_LISTEN', `${o.what}: cannot listen on ${listen.host}:${listen.port}: ${err.message}`, { cause: err })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    address: formatHostPort(a.address, a.port),
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}
