/**
 * The mutating admission webhook: HTTPS, `POST /inject` with an AdmissionReview, plus
 * `/healthz` and `/metrics`. Fails open: when meshtap itself breaks, the pod is admitted
 * uninjected with a warning (unless `strict`), because a mesh that blocks deployments is
 * worse than a pod without a sidecar. Bodies and request time are bounded.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, MeshtapError } from '../common/index.js';
import type { MeshConfig } from '../injector/index.js';
import { admit, internalErrorReview, parseAdmissionReview, type ParsedReview } from './admission.js';
import { readCertPair, watchCertPair, type CertReloader } from './cert-reloader.js';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.js';
import type { NamespaceLookup } from './namespace-lookup.js';

const log = createLogger('webhook');

/** AdmissionReview bodies above this are refused (413): objects are capped near 1.5 MiB by etcd. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Whole-request budget; kube-apiserver gives webhooks at most 30 s (10 s by default). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface WebhookServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  config: MeshConfig;
  /** Namespace annotations; absent means pods are decided on their own annotations only. */
  lookupNamespace?: NamespaceLookup;
  /** Deny instead of failing open on internal errors. */
  strict?: boolean;
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  certCheckIntervalMs?: number;
}

export interface WebhookServer {
  server: Server;
  port: number;
  metrics: WebhookMetrics;
  certs: CertReloader;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. Throws MT_WEBHOOK_CERT if the cert/key cannot be used. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const files = { certFile: opts.certFile, keyFile: opts.keyFile };
  let pair: { cert: string; key: string };
  try {
    pair = await readCertPair(files);
  } catch (err) {
    throw new MeshtapError('MT_WEBHOOK_CERT', `cannot use --cert ${opts.certFile} / --key ${opts.keyFile}: ${(err as Error).message}`, { cause: err });
  }
  const metrics = createWebhookMetrics();
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = createServer({
    ...pair,
    minVersion: 'TLSv1.2',
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(requestTimeoutMs, 10_000),
    // Node checks the two timeouts above only this often (30 s by default), so a slow client
    // was held up to 30 s past them; and a TLS handshake has its own 120 s unless told.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, requestTimeoutMs / 4)),
    handshakeTimeout: requestTimeoutMs,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, opts, metrics).catch((err: unknown) => {
      log.error('request failed', { error: (err as Error).message });
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.on('clientError', (err, socket) => {
    if ((err as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.rejected.inc({ reason: 'timeout' });
    socket.destroy();
  });
  server.on('tlsClientError', (err) => {
    if ((err as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT') metrics.rejected.inc({ reason: 'timeout' });
    log.debug('TLS handshake failed', { error: err.message });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const reloader = watchCertPair(server, files, pair, opts.certCheckIntervalMs ?? 5_000);
  const certs: CertReloader = {
    check: async () => {
      const changed = await reloader.check();
      if (changed) metrics.certReloads.inc();
      return changed;
    },
    stop: () => reloader.stop(),
    get reloads() {
      return reloader.reloads;
    },
  };
  return {
    server,
    port: (server.address() as AddressInfo).port,
    metrics,
    certs,
    close: () =>
      new Promise<void>((resolve) => {
        reloader.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: WebhookServerOptions, metrics: WebhookMetrics): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]; // the API server appends ?timeout=10s
  if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return send(res, 200, 'text/plain', 'ok\n');
  if (path === '/metrics' && req.method === 'GET') return send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
  if (path !== '/inject') return send(res, 404, 'text/plain', 'not found; the injection path is POST /inject\n');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, 'text/plain', 'use POST\n');
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    metrics.rejected.inc({ reason: 'content-type' });
    req.resume();
    return send(res, 415, 'text/plain', `content-type must be application/json, got ${JSON.stringify(type)}\n`);
  }
  const body = await readBody(req, opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  if (!body.ok) {
    metrics.rejected.inc({ reason: body.reason });
    // The rest of a body too large is read and dropped (bounded by the request timeout), not
    // cut by closing: a client that writes its whole request before reading (kube-apiserver)
    // would get a reset that discards the 413 instead of the 413.
    return send(res, body.reason === 'too-large' ? 413 : 400, 'text/plain', body.message + '\n');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(body.text);
  } catch (err) {
    metrics.rejected.inc({ reason: 'bad-body' });
    return send(res, 400, 'text/plain', `body is not JSON: ${(err as Error).message}\n`);
  }
  const parsed = parseAdmissionReview(decoded);
  if (!parsed.ok) {
    metrics.rejected.inc({ reason: 'bad-review' });
    return send(res, 400, 'text/plain', `not an AdmissionReview: ${parsed.error}\n`);
  }
  const answer = await decide(parsed.value, opts, metrics);
  send(res, 200, 'application/json', JSON.stringify(answer));
}

async function decide(review: ParsedReview, opts: WebhookServerOptions, metrics: WebhookMetrics): Promise<unknown> {
  const { request } = review;
  const dryRun = String(request.dryRun === true);
  try {
    const object = request.object as { metadata?: { namespace?: string; name?: string; generateName?: string } } | undefined;
    const namespace = object?.metadata?.namespace ?? request.namespace;
    const warnings: string[] = [];
    let nsAnnotations: Record<string, string> | undefined;
    if (namespace && opts.lookupNamespace && request.kind?.kind === 'Pod') {
      try {
        nsAnnotations = await opts.lookupNamespace(namespace);
      } catch (err) {
        metrics.namespaceLookupErrors.inc();
        warnings.push(`namespace ${namespace} annotations unavailable (${(err as Error).message}); decided on the pod's annotations only`);
      }
    }
    const { review: out, outcome, reason } = admit(review, opts.config, nsAnnotations, warnings);
    metrics.admissions.inc({ outcome, dry_run: dryRun });
    log.info('admission', {
      uid: request.uid,
      namespace,
      pod: object?.metadata?.name ?? `${object?.metadata?.generateName ?? ''}*`,
      outcome,
      reason,
      dryRun: request.dryRun === true,
    });
    return out;
  } catch (err) {
    metrics.admissions.inc({ outcome: 'error', dry_run: dryRun });
    log.error('injection failed', { uid: request.uid, error: (err as Error).message });
    return internalErrorReview(review, (err as Error).message, opts.strict === true);
  }
}

type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too-large' | 'bad-body'; message: string };

function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume();
      resolve({ ok: false, reason: 'too-large', message: `body of ${declared} bytes is over the ${maxBytes}-byte limit` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        resolve({ ok: false, reason: 'too-large', message: `body is over the ${maxBytes}-byte limit` });
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', (err) => resolve({ ok: false, reason: 'bad-body', message: `body could not be read: ${err.message}` }));
  });
}
