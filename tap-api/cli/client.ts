/**
 * The tap API's client side, for `meshtap tap/top/stat`: opens a tap through the tap API and
 * turns every failure into a MeshtapError carrying the server's own message (so the CLI prints
 * what the server said: the missing permission, the unknown target):
 * MT_UNAUTHORIZED (401), MT_RBAC_DENIED (403), MT_NOT_FOUND (404), MT_TAP_API_BUSY (429),
 * MT_BAD_REQUEST (400), MT_TAP_API_UNREACHABLE (cannot connect, or the connection died
 * mid-stream), MT_TAP_SLOW_CLIENT / MT_TAP_API_SHUTDOWN (the server ended the stream).
 */
import type { Dispatcher } from 'undici';
import { MeshtapError } from '../../common/index.js';
import { createLineSplitter, eventJsonOf, type TapMessage, type TapRequest, type TapStream } from '../../tap-protocol/index.js';
import { loadUndici } from '../lazy-deps.js';
import { parseTarget } from '../server/targets.js';
import { TAP_API_PREFIX, type KubeStatus, type SidecarInfo, type TapApiLine } from '../server/wire.js';

/** Longest NDJSON line accepted from the tap API (an event with two captured bodies fits). */
export const MAX_TAP_LINE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface TapApiStreamOptions {
  /** Tap API base URL, e.g. `http://127.0.0.1:8089`. */
  url: string;
  token?: string;
  namespace: string;
  /** `deploy/web`, `pod/web-1`, `ns/shop`, … */
  target: string;
  /** `-l`: only the target's pods with these labels (Kubernetes selector syntax). */
  labelSelector?: string;
  request: TapRequest;
  /** One pod's part of the stream ended (the others go on). */
  onNotice?(notice: { pod: string; message: string }): void;
  /** Connection settings (e.g. TLS with the kubeconfig's CA and client certificate). */
  dispatcher?: Dispatcher;
  /** Extra request headers (e.g. the kubeconfig's Authorization). */
  headers?: Record<string, string>;
  /** How to name the server in errors, and what to try when it cannot be reached. */
  describeServer?: { name: string; hint: string };
}

/** The HTTP path (and `labelSelector` query) of a tap. */
export function tapApiPath(namespace: string, target: string, labelSelector?: string): string {
  const t = parseTarget(target);
  if (!t.ok) throw new MeshtapError('MT_USAGE', t.error);
  const ns = encodeURIComponent(namespace);
  const query = labelSelector ? `?${new URLSearchParams({ labelSelector })}` : '';
  if (t.value.resource === 'namespaces') return `${TAP_API_PREFIX}/watch/namespaces/${encodeURIComponent(t.value.name)}/tap${query}`;
  return `${TAP_API_PREFIX}/watch/namespaces/${ns}/${t.value.resource}/${encodeURIComponent(t.value.name)}/tap${query}`;
}

/**
 * Opens a tap through the tap API. Errors surface from iterating `messages` (or `wire`: batches
 * of event messages' bytes as they came, a chunk's lines at a time; notices go to `onNotice` and
 * an `error` line throws, as with `messages`).
 */
export function openTapApiStream(options: TapApiStreamOptions): TapStream {
  const path = tapApiPath(options.namespace, options.target, options.labelSelector);
  const ac = new AbortController();
  let cancelled = false;
  const { grant: _ignored, ...request_ } = options.request;
  /** The stream's lines, a chunk at a time, with `error` and `notice` lines handled. */
  async function* lines(): AsyncGenerator<Buffer[]> {
    const res = await call(options.url, path, 'POST', options.token, JSON.stringify(request_), ac.signal, options).catch((err: unknown) => {
      if (cancelled) return undefined;
      throw err;
    });
    if (!res) return;
    if (res.statusCode !== 200) throw await statusError(res);
    const splitter = createLineSplitter(MAX_TAP_LINE_BYTES);
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const batch = splitter.push(chunk);
        let kept = 0;
        for (const line of batch) {
          // Events (nearly every line) go on as bytes; the rest is parsed here.
          if (eventJsonOf(line) === undefined) {
            const m = parseLine(line);
            if (m.type === 'error') throw new MeshtapError(m.code, m.message);
            if (m.type === 'notice') {
              options.onNotice?.({ pod: m.pod, message: m.message });
              continue;
            }
          }
          batch[kept++] = line;
        }
        batch.length = kept;
        if (kept > 0) yield batch;
      }
    } catch (err) {
      if (cancelled) return;
      if (err instanceof MeshtapError) throw err;
      const name = options.describeServer?.name ?? `the tap API at ${options.url}`;
      throw new MeshtapError('MT_TAP_API_UNREACHABLE', `lost the connection to ${name} mid-stream: ${describe(err)}`, { cause: err });
    }
  }
  async function* messages(): AsyncGenerator<TapMessage> {
    for await (const batch of lines()) for (const line of batch) yield parseLine(line) as TapMessage;
  }
  return {
    messages: messages(),
    wire: lines(),
    cancel() {
      cancelled = true;
      ac.abort();
    },
  };
}

/**
 * Lists the sidecars of a namespace, or of every namespace without one (needs `list sidecars`
 * in tap.meshtap.dev, cluster-wide for every namespace). Through kube-apiserver with `more`.
 */
export async function listSidecars(options: { url: string; token?: string; namespace?: string } & CallOptions): Promise<SidecarInfo[]> {
  const path = options.namespace === undefined ? `${TAP_API_PREFIX}/sidecars` : `${TAP_API_PREFIX}/namespaces/${encodeURIComponent(options.namespace)}/sidecars`;
  const res = await call(options.url, path, 'GET', options.token, undefined, undefined, options);
  if (res.statusCode !== 200) throw await statusError(res);
  const body = await readJson<{ items?: SidecarInfo[] }>(res, path);
  return Array.isArray(body.items) ? body.items : [];
}

/**
 * GETs a JSON document from the tap API (or kube-apiserver's aggregated API); a non-200 answer
 * becomes the MeshtapError its Status says (MT_RBAC_DENIED for 403, …).
 */
export async function getTapApiJson<T>(base: string, path: string, token: string | undefined, more: CallOptions = {}): Promise<T> {
  const res = await call(base, path, 'GET', token, undefined, undefined, more);
  if (res.statusCode !== 200) throw await statusError(res);
  return readJson<T>(res, path);
}

/**
 * Reads a JSON answer of at most MAX_TAP_LINE_BYTES (a misbehaving server or proxy in between
 * must not make the CLI buffer without bound); too long or not JSON is MT_TAP_API_PROTOCOL.
 */
async function readJson<T>(res: Reply, path: string): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_TAP_LINE_BYTES) {
      res.body.destroy();
      throw new MeshtapError('MT_TAP_API_PROTOCOL', `tap API answered ${path} with more than ${MAX_TAP_LINE_BYTES} bytes`);
    }
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as T;
  } catch (err) {
    throw new MeshtapError('MT_TAP_API_PROTOCOL', `tap API answered ${path} with something that is not JSON`, { cause: err });
  }
}

type Reply = Dispatcher.ResponseData;

export type CallOptions = Pick<TapApiStreamOptions, 'dispatcher' | 'headers' | 'describeServer'>;

async function call(
  base: string,
  path: string,
  method: 'GET' | 'POST',
  token: string | undefined,
  body?: string,
  signal?: AbortSignal,
  more: CallOptions = {},
): Promise<Reply> {
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    throw new MeshtapError('MT_USAGE', `tap API URL '${base}' is not a URL (e.g. http://127.0.0.1:8089)`);
  }
  const headers: Record<string, string> = { accept: 'application/x-ndjson, application/json', ...more.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    // bodyTimeout 0: a quiet tap (no matching traffic) may send nothing for hours.
    return await loadUndici().request(url, { method, headers, body, bodyTimeout: 0, headersTimeout: 30_000, ...(signal ? { signal } : {}), ...(more.dispatcher ? { dispatcher: more.dispatcher } : {}) });
  } catch (err) {
    const name = more.describeServer?.name ?? `the tap API at ${base}`;
    const hint = more.describeServer?.hint ?? "is 'meshtap tap-api' running? (set --tap-api or MESHTAP_TAP_API)";
    throw new MeshtapError('MT_TAP_API_UNREACHABLE', `cannot reach ${name}: ${describe(err)}; ${hint}`, { cause: err });
  }
}

const CODES: Record<number, string> = { 400: 'MT_BAD_REQUEST', 401: 'MT_UNAUTHORIZED', 403: 'MT_RBAC_DENIED', 404: 'MT_NOT_FOUND', 429: 'MT_TAP_API_BUSY' };

async function statusError(res: Reply): Promise<MeshtapError> {
  let text = '';
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      text += c.toString('utf8');
      if (text.length > MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // the message we have is enough
  }
  let message = `tap API answered HTTP ${res.statusCode}`;
  try {
    const s = JSON.parse(text) as Partial<KubeStatus>;
    if (typeof s.message === 'string') message = s.message;
  } catch {
    if (text.trim()) message += `: ${text.trim().split('\n')[0]!.slice(0, 200)}`;
  }
  res.body.destroy();
  return new MeshtapError(CODES[res.statusCode] ?? 'MT_TAP_API_ERROR', message);
}

function parseLine(line: Buffer): TapApiLine {
  const text = line.toString('utf8');
  try {
    const v = JSON.parse(text) as TapApiLine;
    if (typeof v === 'object' && v !== null && typeof v.type === 'string') return v;
  } catch {
    // fall through
  }
  throw new MeshtapError('MT_TAP_API_PROTOCOL', `tap API sent a line that is not a tap message: ${text.slice(0, 80)}`);
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
}
