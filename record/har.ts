/**
 * HAR 1.2 export and import. HTTP exchanges map onto HAR's request/response/content; what HAR
 * has no field for goes to `_`-prefixed custom fields (allowed by the spec): `_trailers`,
 * `_requestTrailers`, `_grpc` (status, message and the message frames), `_meshtap` (id,
 * proxy, src/dst, protocol, body capture facts, …) — so recording -> HAR -> recording keeps
 * every field. HAR files from elsewhere (browsers) import too, with what they carry.
 */
import { MeshtapError } from '../common/index.js';
import { createRecordingHeader, startTimeMs, type GrpcFrame, type RecordedExchange, type RecordingHeader } from './format.js';
import { headerValue } from './headers.js';
import { checkExchange } from './recording-reader.js';
import type { HeaderList, Protocol, TapBody } from '../tap-protocol/index.js';

export interface HarHeader { name: string; value: string }
export interface HarContent { size: number; mimeType: string; text?: string; encoding?: string; compression?: number }
export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string; url: string; httpVersion: string; cookies: unknown[]; headers: HarHeader[];
    queryString: HarHeader[]; postData?: { mimeType: string; text?: string; _encoding?: string }; headersSize: number; bodySize: number;
  };
  response: {
    status: number; statusText: string; httpVersion: string; cookies: unknown[]; headers: HarHeader[];
    content: HarContent; redirectURL: string; headersSize: number; bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
  _trailers?: HarHeader[];
  _requestTrailers?: HarHeader[];
  _grpc?: { status?: number; message?: string; requestMessages?: GrpcFrame[]; responseMessages?: GrpcFrame[] };
  _meshtap?: Record<string, unknown>;
}
export interface Har { log: { version: string; creator: { name: string; version: string }; entries: HarEntry[]; _meshtapHeader?: RecordingHeader } }

const toHar = (h: HeaderList | undefined): HarHeader[] => (h ?? []).map(([name, value]) => ({ name, value }));
const fromHarHeaders = (h: HarHeader[] | undefined): HeaderList => (h ?? []).map(({ name, value }) => [name, value]);

function httpVersionOf(p: Protocol): string {
  return p === 'http/1.0' ? 'HTTP/1.0' : p === 'http/1.1' ? 'HTTP/1.1' : 'HTTP/2';
}

function queryOf(path: string): HarHeader[] {
  const q = path.indexOf('?');
  if (q === -1) return [];
  return [...new URLSearchParams(path.slice(q + 1))].map(([name, value]) => ({ name, value }));
}

/** The fields of an exchange HAR's standard part does not carry. */
const MESHTAP_FIELDS = ['id', 'ts', 'proxy', 'src', 'dst', 'srcWorkload', 'srcNamespace', 'dstWorkload', 'dstNamespace', 'pod', 'protocol',
  'scheme', 'authority', 'path', 'latencyMs', 'durationMs', 'requestBytes', 'responseBytes', 'error', 'status', 'responseComplete', 'unprocessed'] as const;

/** Converts exchanges to a HAR 1.2 document. */
export function recordingToHar(exchanges: readonly RecordedExchange[], header: RecordingHeader | undefined, meshtapVersion: string): Har {
  const entries = exchanges.map((ex): HarEntry => {
    const meta: Record<string, unknown> = {};
    for (const k of MESHTAP_FIELDS) if (ex[k] !== undefined) meta[k] = ex[k];
    if (ex.requestBody) meta.requestBody = bodyFacts(ex.requestBody);
    if (ex.responseBody) meta.responseBody = bodyFacts(ex.responseBody);
    if (ex.requestHeaders === undefined) meta.noRequestHeaders = true;
    if (ex.responseHeaders === undefined) meta.noResponseHeaders = true;
    const httpVersion = httpVersionOf(ex.protocol);
    const reqType = headerValue(ex.requestHeaders, 'content-type') ?? 'application/octet-stream';
    const resType = headerValue(ex.responseHeaders, 'content-type') ?? '';
    const latency = ex.latencyMs ?? ex.durationMs ?? 0;
    const entry: HarEntry = {
      startedDateTime: new Date(startTimeMs(ex)).toISOString(),
      time: ex.durationMs ?? 0,
      request: {
        method: ex.method,
        url: `${ex.scheme || 'http'}://${ex.authority || 'unknown'}${ex.path.startsWith('/') ? '' : '/'}${ex.path}`,
        httpVersion,
        cookies: [],
        headers: toHar(ex.requestHeaders),
        queryString: queryOf(ex.path),
        headersSize: -1,
        bodySize: ex.requestBody?.size ?? ex.requestBytes ?? 0,
      },
      response: {
        status: ex.status ?? 0,
        statusText: '',
        httpVersion,
        cookies: [],
        headers: toHar(ex.responseHeaders),
        content: { size: ex.responseBody?.size ?? ex.responseBytes ?? 0, mimeType: resType },
        redirectURL: headerValue(ex.responseHeaders, 'location') ?? '',
        headersSize: -1,
        bodySize: ex.responseBody?.size ?? ex.responseBytes ?? -1,
      },
      cache: {},
      timings: { send: 0, wait: latency, receive: Math.max(0, (ex.durationMs ?? latency) - latency) },
      _meshtap: meta,
    };
    if (ex.requestBody) entry.request.postData = { mimeType: reqType, text: ex.requestBody.data, ...(ex.requestBody.encoding === 'base64' ? { _encoding: 'base64' } : {}) };
    if (ex.responseBody) {
      entry.response.content.text = ex.responseBody.data;
      if (ex.responseBody.encoding === 'base64') entry.response.content.encoding = 'base64';
      // Decoded (session 16): HAR's content is the decoded text, its size the decoded length and
      // `compression` the bytes the coding saved (bodySize stays the size on the wire); a cut body's
      // decoded length is not known, so neither is what was saved.
      const b = ex.responseBody;
      if (b.decoded !== undefined) {
        const decodedBytes = b.encoding === 'base64' ? Buffer.from(b.data, 'base64').length : Buffer.byteLength(b.data);
        entry.response.content.size = decodedBytes;
        if (!b.truncated) entry.response.content.compression = decodedBytes - b.size;
      }
    }
    if (ex.trailers !== undefined) entry._trailers = toHar(ex.trailers);
    if (ex.requestTrailers !== undefined) entry._requestTrailers = toHar(ex.requestTrailers);
    if (ex.protocol === 'grpc' || ex.grpcStatus !== undefined) {
      entry._grpc = { status: ex.grpcStatus, message: ex.grpcMessage, requestMessages: ex.requestMessages, responseMessages: ex.responseMessages };
    }
    return entry;
  });
  return { log: { version: '1.2', creator: { name: 'meshtap', version: meshtapVersion }, entries, ...(header ? { _meshtapHeader: header } : {}) } };
}

function protocolOf(httpVersion: string | undefined): Protocol {
  const v = (httpVersion ?? '').toUpperCase();
  if (v === 'HTTP/1.0') return 'http/1.0';
  if (v.startsWith('HTTP/2') || v === 'H2') return 'h2';
  return 'http/1.1';
}

/** Converts a HAR document to exchanges (and the recording header it carried, if any). */
export function harToRecording(har: unknown, meshtapVersion: string, file?: string): { header: RecordingHeader; exchanges: RecordedExchange[] } {
  const log = (har as Har | undefined)?.log;
  if (!log || !Array.isArray(log.entries)) throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'} is not a HAR file (no log.entries)`);
  // Any entry the conversion cannot make sense of, or that would not read back as a recording,
  // is refused naming it (a bad URL or a missing response crashed convert with a TypeError; review10).
  const exchanges = log.entries.map((e, i): RecordedExchange => {
    let ex: RecordedExchange;
    try {
      ex = entryToExchange(e, i, file);
    } catch (err) {
      if (err instanceof MeshtapError) throw err;
      throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i}: ${(err as Error).message}`, { cause: err });
    }
    const problem = checkExchange(ex);
    if (problem) throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i}: ${problem}`);
    return ex;
  });
  const header = log._meshtapHeader ?? createRecordingHeader({ kind: 'har', file }, meshtapVersion);
  return { header, exchanges };
}

function entryToExchange(e: HarEntry, i: number, file: string | undefined): RecordedExchange {
  if (!e?.request?.url || !e.request.method) throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i} has no request method/url`);
  const meta = (e._meshtap ?? {}) as Partial<RecordedExchange> & { requestBody?: Omit<TapBody, 'data'>; responseBody?: Omit<TapBody, 'data'>; noRequestHeaders?: boolean; noResponseHeaders?: boolean };
  let url: URL;
  try {
    url = new URL(e.request.url);
  } catch {
    throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i}: request.url ${JSON.stringify(e.request.url)} is not a URL`);
  }
  if (meta.ts === undefined && Number.isNaN(Date.parse(e.startedDateTime))) throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i} has no startedDateTime`);
  if (typeof e.response !== 'object' || e.response === null) throw new MeshtapError('MT_HAR_INVALID', `${file ?? 'input'}: entry ${i} has no response`);
  const ex: RecordedExchange = {
    kind: 'end',
    id: meta.id ?? `har-${i}.1`,
    ts: meta.ts ?? new Date(Date.parse(e.startedDateTime) + (e.time || 0)).toISOString(),
    proxy: meta.proxy ?? 'out',
    src: meta.src ?? '',
    dst: meta.dst ?? url.host,
    protocol: meta.protocol ?? (e._grpc ? 'grpc' : protocolOf(e.request.httpVersion)),
    method: e.request.method,
    scheme: meta.scheme ?? url.protocol.replace(/:$/, ''),
    authority: meta.authority ?? url.host,
    path: meta.path ?? url.pathname + url.search,
  };
  // responseComplete and unprocessed decide what mock serves and replay sends (mock-index, replay-direction).
  for (const k of ['srcWorkload', 'srcNamespace', 'dstWorkload', 'dstNamespace', 'pod', 'requestBytes', 'responseBytes', 'error', 'responseComplete', 'unprocessed'] as const) {
    if (meta[k] !== undefined) (ex as unknown as Record<string, unknown>)[k] = meta[k];
  }
  if (!meta.noRequestHeaders) ex.requestHeaders = fromHarHeaders(e.request.headers);
  const post = e.request.postData;
  if (post && post.text !== undefined) {
    const encoding = meta.requestBody?.encoding ?? (post._encoding === 'base64' ? 'base64' : 'utf8');
    ex.requestBody = { size: meta.requestBody?.size ?? e.request.bodySize, truncated: meta.requestBody?.truncated ?? false, encoding, data: post.text, ...omittedOf(meta.requestBody), ...decodedOf(meta.requestBody) };
  }
  if (meta.status !== undefined || e.response.status) ex.status = meta.status ?? e.response.status;
  if (meta.latencyMs !== undefined) ex.latencyMs = meta.latencyMs;
  else if (!e._meshtap && e.timings?.wait >= 0) ex.latencyMs = e.timings.wait;
  if (!meta.noResponseHeaders) ex.responseHeaders = fromHarHeaders(e.response.headers);
  if (e._trailers) ex.trailers = fromHarHeaders(e._trailers);
  if (e._requestTrailers) ex.requestTrailers = fromHarHeaders(e._requestTrailers);
  if (e._grpc?.status !== undefined) ex.grpcStatus = e._grpc.status;
  if (e._grpc?.message !== undefined) ex.grpcMessage = e._grpc.message;
  ex.durationMs = meta.durationMs ?? e.time;
  const c = e.response.content;
  if (c?.text !== undefined) {
    const encoding = meta.responseBody?.encoding ?? (c.encoding === 'base64' ? 'base64' : 'utf8');
    ex.responseBody = { size: meta.responseBody?.size ?? c.size, truncated: meta.responseBody?.truncated ?? false, encoding, data: c.text, ...omittedOf(meta.responseBody), ...decodedOf(meta.responseBody) };
  }
  if (e._grpc?.requestMessages) ex.requestMessages = e._grpc.requestMessages;
  if (e._grpc?.responseMessages) ex.responseMessages = e._grpc.responseMessages;
  return ex;
}

/** Why a body was kept without bytes, when the recording said so (a known reason only). */
function omittedOf(meta: Partial<Omit<TapBody, 'data'>> | undefined): Pick<TapBody, 'omitted'> {
  const o = meta?.omitted;
  return o === 'content-type' || o === 'too-large' || o === 'encoded' || o === 'decode-budget' ? { omitted: o } : {};
}

/** The codings a body was decoded from, when the recording said so. */
function decodedOf(meta: Partial<Omit<TapBody, 'data'>> | undefined): Pick<TapBody, 'decoded'> {
  return typeof meta?.decoded === 'string' ? { decoded: meta.decoded } : {};
}

/** What `_meshtap` keeps of a body besides its text: its size on the wire, cut, encoding, why no bytes, what it was decoded from. */
function bodyFacts(b: TapBody): Omit<TapBody, 'data'> {
  return { size: b.size, truncated: b.truncated, encoding: b.encoding, ...(b.omitted !== undefined ? { omitted: b.omitted } : {}), ...(b.decoded !== undefined ? { decoded: b.decoded } : {}) };
}
