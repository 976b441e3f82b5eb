/**
 * GETs a JSON document from the tap API as the user, in either connection mode: with the bearer
 * token (tap API URL), or through kube-apiserver with the kubeconfig's credentials (the
 * aggregated API proxies `/apis/tap.meshtap.dev/…`). Errors become MeshtapErrors carrying the
 * server's own message (Kubernetes Status), so the page can show which permission is missing.
 */
import type { RequestOptions } from 'node:https';
import { Agent, request, type Dispatcher } from 'undici';
import { MeshtapError } from '../common/index.js';
import { loadKubeconfig } from '../tap-api/index.js';
import type { DashboardConnection } from './connection.js';

const CODES: Record<number, string> = { 400: 'MT_BAD_REQUEST', 401: 'MT_UNAUTHORIZED', 403: 'MT_RBAC_DENIED', 404: 'MT_NOT_FOUND', 503: 'MT_TAP_API_UNAVAILABLE' };
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

async function kubeTarget(c: { kubeconfigPath: string; context?: string }): Promise<{ base: string; headers: Record<string, string>; dispatcher: Dispatcher }> {
  const kc = await loadKubeconfig(c.kubeconfigPath, c.context);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string' || typeof v === 'number') headers[k.toLowerCase()] = String(v);
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const dispatcher = new Agent({
    connect: {
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    },
  });
  return { base: kc.getCurrentCluster()!.server, headers, dispatcher };
}

/** GETs `path` (under the tap API's root) and parses the JSON answer. */
export async function getFromTapApi<T>(c: DashboardConnection, path: string, timeoutMs = 20_000): Promise<T> {
  let base: string;
  let headers: Record<string, string> = { accept: 'application/json' };
  let dispatcher: Dispatcher | undefined;
  if ('tapApi' in c) {
    base = c.tapApi.url;
    if (c.tapApi.token) headers.authorization = `Bearer ${c.tapApi.token}`;
  } else {
    const k = await kubeTarget(c.kube);
    base = k.base;
    headers = { ...headers, ...k.headers };
    dispatcher = k.dispatcher;
  }
  try {
    let res;
    try {
      res = await request(new URL(path, base), { method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(dispatcher ? { dispatcher } : {}) });
    } catch (err) {
      throw new MeshtapError('MT_TAP_API_UNREACHABLE', `cannot reach ${base}: ${(err as Error).message}`, { cause: err });
    }
    const text = await readLimited(res.body);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new MeshtapError(CODES[res.statusCode] ?? 'MT_TAP_API_ERROR', `${base} answered HTTP ${res.statusCode} without JSON`);
    }
    if (res.statusCode !== 200) {
      const message = (body as { message?: string }).message ?? `${base} answered HTTP ${res.statusCode}`;
      throw new MeshtapError(CODES[res.statusCode] ?? 'MT_TAP_API_ERROR', message);
    }
    return body as T;
  } finally {
    if (dispatcher) void (dispatcher as Agent).close().catch(() => undefined);
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new MeshtapError('MT_TAP_API_PROTOCOL', `the tap API's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
