/**
 * The dashboard's local HTTP server: the page (a bundle built at `npm run build`, no CDN, no
 * run-time fetches elsewhere) and the JSON/NDJSON routes the page calls, every one of them acting
 * as the user through the CLI's own clients. Every request passes security.ts's three locks
 * (secret → session cookie, Host, Origin) before anything else.
 *
 *   GET  /?secret=S            sets the session cookie, redirects to the same URL without S
 *   GET  /, /assets/*          the page
 *   GET  /api/config           namespaces, connection, version
 *   GET  /api/query            a query's parse result and its `meshtap tap` command
 *   GET  /api/tap, /api/top    NDJSON streams (tap-route.ts)
 *   GET  /api/stat             workloads per namespace (`meshtap stat deploy -n NS`)
 *   GET  /api/edges, /api/routes   the tap API's edges (service map) and routes (edges.ts)
 *   POST /api/export           HAR, NDJSON or recording of exchanges (exports.ts)
 *   POST /api/exchange         one exchange as a recording line (gRPC messages split)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, MeshtapError, type Logger } from '../common/index.js';
import type { TapEvent } from '../tap-protocol/index.js';
import { collectStats } from '../tap-api/index.js';
import { describeConnection, type DashboardConnection } from './connection.js';
import { fetchEdges, fetchRoutes } from './edges.js';
import { buildExport, exchangeView, parseExportRequest } from './exports.js';
import { cliCommand, parseQuery } from './query.js';
import { cookieName, createSecret, hostAllowed, originAllowed, readCookie, secretMatches, SECRET_PARAM, sessionCookie } from './security.js';
import { serveTapStream, serveTopStream, tapParamsFromUrl } from './tap-route.js';
import type { DashboardConfig, QueryCheck } from './wire.js';

export interface DashboardServerOptions {
  connection: DashboardConnection;
  /** Namespaces the page offers (the first is the default). */
  namespaces: string[];
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** Per-run secret (default: random). */
  secret?: string;
  /** Prometheus for the workloads view (instead of scraping the sidecars). */
  prometheus?: string;
  /** Stat window of the workloads view. */
  statWindowMs?: number;
  version: string;
  /** Where the built page is (default: dist/dashboard/ui). */
  assetsDir?: string;
}

export interface DashboardServer {
  /** The URL to open, with the secret. */
  url: string;
  /** The URL without the secret (what a cookie-holding browser bookmarks). */
  baseUrl: string;
  port: number;
  secret: string;
  close(): Promise<void>;
}

/** Largest POST body (an export of the page's rows with bodies). */
export const MAX_POST_BYTES = 64 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** The built page: dist/dashboard/ui, from both the sources (tests) and dist/. */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes('/dist/') ? join(here, 'ui') : fileURLToPath(new URL('../dist/dashboard/ui/', import.meta.url));
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, code: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, code: number, value: unknown): void {
  send(res, code, 'application/json', JSON.stringify(value));
}

function refuse(res: ServerResponse, code: number, message: string): void {
  send(res, code, 'text/plain; charset=utf-8', message + '\n', { connection: 'close' });
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<{ ok: true; value: unknown } | { ok: false; code: number; error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes && !done) {
        done = true;
        resolve({ ok: false, code: 413, error: `the request body is larger than ${maxBytes} bytes` });
        req.destroy();
      } else if (!done) chunks.push(c);
    });
    req.on('error', () => !done && ((done = true), resolve({ ok: false, code: 400, error: 'the request body could not be read' })));
    req.on('end', () => {
      if (done) return;
      done = true;
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        resolve({ ok: false, code: 400, error: 'the request body is not JSON' });
      }
    });
  });
}

const ERROR_CODES: Record<string, number> = { MT_BAD_REQUEST: 400, MT_UNAUTHORIZED: 401, MT_RBAC_DENIED: 403, MT_NOT_FOUND: 404 };

/** The HTTP code for a failure of the tap API call behind a route. */
function errorCode(err: unknown): number {
  return err instanceof MeshtapError ? (ERROR_CODES[err.code] ?? 502) : 500;
}

/** Starts the dashboard server. */
export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  if (o.namespaces.length === 0) throw new MeshtapError('MT_USAGE', 'the dashboard needs at least one namespace');
  const log: Logger = createLogger('dashboard');
  const secret = o.secret ?? createSecret();
  const host = o.host ?? '127.0.0.1';
  const assets = o.assetsDir ?? defaultAssetsDir();
  let port = 0;
  const hasStats = 'tapApi' in o.connection || o.prometheus !== undefined;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, host, port)) return refuse(res, 421, 'meshtap dashboard: refused: the Host header does not name this dashboard (DNS rebinding?)');
    if (!originAllowed({ ...(req.headers.origin ? { origin: req.headers.origin } : {}), ...(req.headers['sec-fetch-site'] ? { 'sec-fetch-site': String(req.headers['sec-fetch-site']) } : {}), host: req.headers.host! })) {
      return refuse(res, 403, 'meshtap dashboard: refused: cross-origin request');
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const method = req.method ?? 'GET';
    const given = url.searchParams.get(SECRET_PARAM);
    if (given !== null && method === 'GET' && url.pathname === '/') {
      if (!secretMatches(secret, given)) return refuse(res, 403, 'meshtap dashboard: refused: wrong secret; open the URL meshtap dashboard printed');
      url.searchParams.delete(SECRET_PARAM);
      res.writeHead(303, { ...SECURITY_HEADERS, 'set-cookie': sessionCookie(port, secret), location: url.pathname + url.search });
      return void res.end();
    }
    if (!secretMatches(secret, readCookie(req.headers.cookie, cookieName(port)))) {
      return refuse(res, 401, 'meshtap dashboard: open the URL that `meshtap dashboard` printed (it carries a per-run secret)');
    }
    if (method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) return serveAsset(res, 'index.html');
    if (method === 'GET' && url.pathname.startsWith('/assets/')) return serveAsset(res, url.pathname.slice('/assets/'.length));
    if (url.pathname.startsWith('/api/')) return api(req, res, method, url);
    refuse(res, 404, `meshtap dashboard: no page at ${url.pathname}`);
  };

  const serveAsset = async (res: ServerResponse, name: string): Promise<void> => {
    if (!/^[a-z0-9][a-z0-9.-]*$/i.test(name) || !CONTENT_TYPES[extname(name)]) return refuse(res, 404, 'meshtap dashboard: no such asset');
    let body: Buffer;
    try {
      body = await readFile(join(assets, name));
    } catch {
      return refuse(res, name === 'index.html' ? 500 : 404, `meshtap dashboard: ${name} is missing from ${assets}; build the page with 'npm run build'`);
    }
    send(res, 200, CONTENT_TYPES[extname(name)]!, body);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> => {
    const defaultNs = o.namespaces[0]!;
    if (method === 'GET' && url.pathname === '/api/config') {
      const config: DashboardConfig = { namespaces: o.namespaces, connection: describeConnection(o.connection), hasStats, version: o.version };
      return sendJson(res, 200, config);
    }
    if (method === 'GET' && url.pathname === '/api/query') {
      const q = url.searchParams.get('q') ?? '';
      const ns = url.searchParams.get('ns') || defaultNs;
      const target = url.searchParams.get('target') || `ns/${ns}`;
      const source = url.searchParams.get('source') === 'history' ? 'history' : 'live';
      const since = url.searchParams.get('since') || '5m';
      const parsed = parseQuery(q);
      const rps = Number(url.searchParams.get('rps') || 100);
      const cli = cliCommand(target, ns, q, { source, since, ...(rps !== 100 ? { maxRps: rps } : {}) });
      const check: QueryCheck = parsed.ok ? { ok: true, cli, groups: parsed.matches.length } : { ok: false, error: parsed.error };
      return sendJson(res, parsed.ok ? 200 : 400, check);
    }
    if (method === 'GET' && (url.pathname === '/api/tap' || url.pathname === '/api/top')) {
      const p = tapParamsFromUrl(url, defaultNs);
      if (!p.ok) return sendJson(res, 400, { error: p.error });
      return url.pathname === '/api/tap' ? serveTapStream(o.connection, res, p.value, log) : serveTopStream(o.connection, res, p.value, log);
    }
    if (method === 'GET' && url.pathname === '/api/stat') {
      const ns = url.searchParams.get('ns') || defaultNs;
      if (!hasStats) return sendJson(res, 501, { error: 'workload statistics need --tap-api URL or --prometheus URL (through a kubeconfig the sidecars cannot be scraped)' });
      try {
        const rows = await collectStats({
          targets: ['deploy'],
          namespace: ns,
          windowMs: o.statWindowMs ?? 5000,
          ...(o.prometheus ? { prometheus: o.prometheus } : {}),
          ...('tapApi' in o.connection ? { tapApi: o.connection.tapApi } : {}),
        });
        return sendJson(res, 200, { namespace: ns, rows });
      } catch (err) {
        return sendJson(res, errorCode(err), { error: (err as Error).message });
      }
    }
    if (method === 'GET' && (url.pathname === '/api/edges' || url.pathname === '/api/routes')) {
      const window = url.searchParams.get('window') || '1m';
      try {
        if (url.pathname === '/api/edges') {
          const namespaces = url.searchParams.getAll('ns');
          return sendJson(res, 200, await fetchEdges(o.connection, namespaces.length ? namespaces.slice(0, 50) : [defaultNs], window));
        }
        const ns = url.searchParams.get('ns') || defaultNs;
        return sendJson(res, 200, await fetchRoutes(o.connection, ns, url.searchParams.get('workload') ?? '', window));
      } catch (err) {
        return sendJson(res, errorCode(err), { error: (err as Error).message });
      }
    }
    if (method === 'POST' && (url.pathname === '/api/export' || url.pathname === '/api/exchange')) {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return sendJson(res, 415, { error: 'send application/json' });
      const body = await readBody(req, MAX_POST_BYTES);
      if (!body.ok) return sendJson(res, body.code, { error: body.error });
      if (url.pathname === '/api/exchange') {
        const e = body.value as TapEvent;
        if (!e || typeof e !== 'object' || e.kind !== 'end') return sendJson(res, 400, { error: 'send one tap end event' });
        return sendJson(res, 200, exchangeView(e));
      }
      const r = parseExportRequest(body.value);
      if (!r.ok) return sendJson(res, 400, { error: r.error });
      const file = await buildExport(r.value, o.version);
      return send(res, 200, file.contentType, file.body, { 'content-disposition': `attachment; filename="${file.filename}"` });
    }
    sendJson(res, 404, { error: `no route for ${method} ${url.pathname}` });
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error('request failed', { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error in the dashboard' });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const baseUrl = `http://${shownHost}:${port}/`;
  return {
    url: `${baseUrl}?${SECRET_PARAM}=${secret}`,
    baseUrl,
    port,
    secret,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
