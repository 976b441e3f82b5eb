/**
 * Compares what a target answered with what was recorded: status, headers (volatile and
 * hop-by-hop ones ignored by default), trailers, gRPC status and message, bodies (JSON
 * structurally with masks, other bodies byte for byte; a truncated recording compares its
 * captured prefix) and gRPC messages one by one. Both sides are first put in one shape
 * (`Observation`), which also lets noise detection diff two live answers with the same code.
 */
import { bodyCodings, decodeCodings, OBSERVER_GAVE_UP, REDACTED, type HeaderList } from '../tap-protocol/index.js';
import { decodeBody, type RecordedExchange } from './format.js';
import { groupHeaders, headerValue, HOP_BY_HOP_HEADERS, isPseudoHeader } from './headers.js';
import { diffJson } from './json-mask.js';
import { matchesRedacted } from './redacted-match.js';
import { decompressGrpc, GRPC_RESERVED_HEADERS } from './replay-grpc.js';
import { MAX_COMPARE_BODY_BYTES, type ReplayResponse } from './replay-types.js';

/** Response headers that differ between any two answers and are ignored unless asked. */
export const DEFAULT_IGNORED_HEADERS: readonly string[] = [
  'date', 'age', 'expires', 'last-modified', 'etag', 'server', 'x-request-id', 'content-length', 'vary',
];

/** One difference. `field`: `status`, `header:NAME`, `trailer:NAME`, `grpc-status`, `grpc-message`, `body`, `body:$.path`, `messages`, `message[i]`. */
export interface Difference {
  field: string;
  expected?: string;
  actual?: string;
}

export interface DiffOptions {
  /** JSON masks for bodies (`$.id`, `$..ts`). */
  ignorePaths?: readonly string[];
  /** More header names to ignore (case-insensitive). */
  ignoreHeaders?: readonly string[];
  /** Compare the default-ignored headers too. */
  strictHeaders?: boolean;
  /** Difference fields known to be noise (from noise detection): dropped. */
  noise?: ReadonlySet<string>;
}

/** A response in comparable form. */
export interface Observation {
  isGrpc: boolean;
  status?: number;
  headers: HeaderList;
  trailers: HeaderList;
  body: Buffer;
  /** Only a prefix of the body is known. */
  bodyIsPrefix: boolean;
  messages: Array<{ data: Buffer; isPrefix: boolean }>;
  grpcStatus?: number;
  grpcMessage?: string;
  /**
   * Only the start of this answer was seen: meshtap stopped following its connection before it
   * ended (`observer-gave-up`). What was seen is compared (a status and headers if its head came, its
   * body and messages as a prefix); its end (trailers, gRPC status and message, how many messages) is
   * not known, so not compared (review15: replay reported a whole answer as 'changed' from it).
   */
  isEndUnseen?: boolean;
}

/** The recorded response as an Observation (gRPC messages decompressed). */
export function observationFromRecording(ex: RecordedExchange): Observation {
  const isGrpc = ex.protocol === 'grpc';
  const encoding = headerValue(ex.responseHeaders, 'grpc-encoding');
  // A gRPC trailers-only response carries its trailers in the only HEADERS frame; clients
  // (grpc-js) report them as trailers, so compare them as such.
  const isTrailersOnly = isGrpc && !ex.trailers?.length && headerValue(ex.responseHeaders, 'grpc-status') !== undefined;
  // An HTTP/1 answer that came whole before the observer gave up is known whole (responseComplete).
  const isEndUnseen = ex.error === OBSERVER_GAVE_UP && ex.responseComplete !== true;
  const messages = (ex.responseMessages ?? []).map((f) => {
    const raw = Buffer.from(f.data, 'base64');
    if (f.truncated) return { data: raw, isPrefix: true };
    return { data: decompressGrpc(raw, f.compressed, encoding), isPrefix: false };
  });
  if (isEndUnseen && messages.length > 0) messages[messages.length - 1]!.isPrefix = true;
  return {
    isGrpc,
    status: ex.status,
    headers: isTrailersOnly ? [] : (ex.responseHeaders ?? []),
    trailers: isTrailersOnly ? (ex.responseHeaders ?? []) : (ex.trailers ?? []),
    body: decodeBody(ex.responseBody),
    bodyIsPrefix: (ex.responseBody?.truncated ?? false) || isEndUnseen,
    messages,
    grpcStatus: ex.grpcStatus ?? (isGrpc ? grpcStatusFrom(ex) : undefined),
    grpcMessage: ex.grpcMessage ?? (isGrpc ? headerValue(ex.trailers, 'grpc-message') ?? headerValue(ex.responseHeaders, 'grpc-message') ?? '' : undefined),
    ...(isEndUnseen ? { isEndUnseen } : {}),
  };
}

function grpcStatusFrom(ex: RecordedExchange): number | undefined {
  const v = headerValue(ex.trailers, 'grpc-status') ?? headerValue(ex.responseHeaders, 'grpc-status');
  return v === undefined ? undefined : Number(v);
}

/** A target's answer as an Observation. */
export function observationFromResponse(res: ReplayResponse, isGrpc: boolean): Observation {
  return {
    isGrpc,
    status: res.status,
    headers: res.headers,
    trailers: res.trailers,
    body: res.body,
    bodyIsPrefix: res.bodyTruncated,
    messages: res.messages.map((data) => ({ data, isPrefix: false })),
    grpcStatus: res.grpcStatus,
    grpcMessage: res.grpcMessage,
  };
}

const show = (b: Buffer): string => {
  const text = b.toString('utf8');
  const printable = Buffer.from(text).equals(b) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  const s = printable ? JSON.stringify(text) : `base64:${b.toString('base64')}`;
  return s.length > 200 ? s.slice(0, 197) + '...' : s;
};

function parseJson(b: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (b.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(b.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function diffHeaderLists(kind: 'header' | 'trailer', e: HeaderList, a: HeaderList, skip: (name: string) => boolean, out: Difference[]): void {
  const eg = groupHeaders(e);
  const ag = groupHeaders(a);
  for (const name of new Set([...eg.keys(), ...ag.keys()])) {
    if (skip(name)) continue;
    const ev = eg.get(name);
    const av = ag.get(name);
    if (ev && av && ev.some((v) => v === REDACTED)) continue; // present on both sides: all we can know
    const es = ev?.join(', ');
    const as = av?.join(', ');
    if (es !== as && !(es !== undefined && as !== undefined && matchesRedacted(es, as))) out.push({ field: `${kind}:${name}`, expected: es, actual: as });
  }
}

function diffBodies(e: Observation, a: Observation, options: DiffOptions, out: Difference[]): void {
  const ej = parseJson(e.body);
  const aj = parseJson(a.body);
  if (ej.ok && aj.ok && !e.bodyIsPrefix) {
    for (const d of diffJson(ej.value, aj.value, options.ignorePaths ?? [])) {
      out.push({ field: `body:${d.path}`, expected: JSON.stringify(d.expected), actual: JSON.stringify(d.actual) });
    }
    return;
  }
  const same =
    (e.bodyIsPrefix ? a.body.subarray(0, e.body.length).equals(e.body) : a.bodyIsPrefix ? e.body.subarray(0, a.body.length).equals(a.body) : e.body.equals(a.body)) ||
    (!e.bodyIsPrefix && !a.bodyIsPrefix && e.body.includes(REDACTED) && matchesRedacted(e.body.toString('utf8'), a.body.toString('utf8')));
  if (!same) out.push({ field: 'body', expected: show(e.body), actual: show(a.body) });
}

/** All differences between an expected and an actual answer, minus ignored and noisy fields. */
export function diffObservations(expected: Observation, actual: Observation, options: DiffOptions = {}): Difference[] {
  const out: Difference[] = [];
  const ignored = new Set([...(options.strictHeaders ? [] : DEFAULT_IGNORED_HEADERS), ...(options.ignoreHeaders ?? []).map((h) => h.toLowerCase())]);
  const skip = (name: string): boolean =>
    isPseudoHeader(name) || HOP_BY_HOP_HEADERS.has(name) || ignored.has(name) || (expected.isGrpc && GRPC_RESERVED_HEADERS.has(name));
  // Of an answer seen only in part (isEndUnseen): its head if it came, never its end.
  const isHeadSeen = !expected.isEndUnseen || expected.status !== undefined;
  const isEndSeen = !expected.isEndUnseen;
  if (!expected.isGrpc && isHeadSeen && expected.status !== actual.status) out.push({ field: 'status', expected: String(expected.status), actual: String(actual.status) });
  if (isHeadSeen) diffHeaderLists('header', expected.headers, actual.headers, skip, out);
  if (isEndSeen) diffHeaderLists('trailer', expected.trailers, actual.trailers, skip, out);
  if (expected.isGrpc) {
    if (isEndSeen && expected.grpcStatus !== actual.grpcStatus) out.push({ field: 'grpc-status', expected: String(expected.grpcStatus), actual: String(actual.grpcStatus) });
    if (isEndSeen && (expected.grpcMessage ?? '') !== (actual.grpcMessage ?? '')) out.push({ field: 'grpc-message', expected: expected.grpcMessage, actual: actual.grpcMessage });
    if (isEndSeen ? expected.messages.length !== actual.messages.length : actual.messages.length < expected.messages.length) {
      out.push({ field: 'messages', expected: `${expected.messages.length} messages`, actual: `${actual.messages.length} messages` });
    }
    const n = Math.min(expected.messages.length, actual.messages.length);
    for (let i = 0; i < n; i++) {
      const em = expected.messages[i]!;
      const am = actual.messages[i]!;
      const same = em.isPrefix ? am.data.subarray(0, em.data.length).equals(em.data) : em.data.equals(am.data);
      if (!same) out.push({ field: `message[${i}]`, expected: show(em.data), actual: show(am.data) });
    }
  } else {
    diffBodies(expected, actual, options, out);
  }
  return options.noise ? out.filter((d) => !options.noise!.has(d.field)) : out;
}

/**
 * Compares a recorded exchange with a target's answer. A body recorded decoded (`decoded`: the
 * recording's grant did not reveal every header, session 16) is compared with the target's body
 * decoded the same way (its own Content-Encoding, bounded as a compared body is), like with like.
 */
export function diffExchange(recorded: RecordedExchange, actual: ReplayResponse, options: DiffOptions = {}): Difference[] {
  const isGrpc = recorded.protocol === 'grpc';
  const answer = observationFromResponse(actual, isGrpc);
  if (!isGrpc && recorded.responseBody?.decoded !== undefined) {
    const codings = bodyCodings(actual.headers);
    const decoded = codings.length > 0 ? decodeCodings(answer.body, codings, answer.bodyIsPrefix, MAX_COMPARE_BODY_BYTES) : undefined;
    if (decoded !== undefined) {
      answer.body = decoded.bytes;
      answer.bodyIsPrefix = decoded.truncated;
    }
  }
  return diffObservations(observationFromRecording(recorded), answer, options);
}

/** Noise: the fields that differ between two answers to the same request. */
export function noiseBetween(first: ReplayResponse, second: ReplayResponse, isGrpc: boolean, options: DiffOptions = {}): Set<string> {
  const diffs = diffObservations(observationFromResponse(first, isGrpc), observationFromResponse(second, isGrpc), { ...options, noise: undefined });
  return new Set(diffs.map((d) => d.field));
}
