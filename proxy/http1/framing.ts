/**
 * Message body framing (RFC 9112 §6.3): how long a request or response body is.
 *
 * The observer must frame exactly as the server and client do, or it desynchronises and
 * reports garbage. Where the RFC leaves room for two readings (Content-Length together with
 * Transfer-Encoding, differing Content-Lengths, a request whose last coding is not chunked),
 * peers are known to disagree, so the observer refuses to guess and gives up on the
 * connection (`h1-ambiguous-framing`); bytes keep flowing untouched.
 */
import type { HeadError } from './head-parse.js';

export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Read until the server closes (responses only). */
  | { kind: 'close' };

export type FramingResult = { ok: true; value: Framing } | { ok: false; error: HeadError };

/** The header facts framing and the observer need, found while a head is validated (head-parse.ts). */
export interface HeadFacts {
  /** Host header value (first one), '' when absent. */
  host: string;
  /** Some Host header field is present (the first one gave `host`). */
  hasHost: boolean;
  /** Some Upgrade header field is present. */
  hasUpgrade: boolean;
  /** Content-Length values, each field line's value kept as sent; undefined when absent. */
  contentLength: string[] | undefined;
  /** Transfer-Encoding field values; undefined when absent. */
  transferEncoding: string[] | undefined;
}

const DIGITS = /^[0-9]+$/;

/**
 * A list element without the optional whitespace around it (RFC 9110 §5.6.1: OWS is SP and
 * HTAB only). Not `String.trim()`: values are decoded from UTF-8 first, and a NO-BREAK SPACE
 * that trim() removes is, to every server, part of the value.
 */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** ASCII-only lower case (tokens are ASCII; `toLowerCase()` would fold KELVIN SIGN U+212A to `k`). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** The value of a field that is only decimal digits (the usual `Content-Length: 123`), else -1. */
function plainDecimal(value: string): number {
  const len = value.length;
  if (len === 0 || len > 15) return -1; // longer ones take the general path (safe-integer check)
  let n = 0;
  for (let i = 0; i < len; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Content-Length (RFC 9110 §8.6): a list of identical decimal values is accepted as one
 * (`5, 5`); differing values are ambiguous; anything not a number is malformed.
 */
function parseContentLength(values: string[]): { ok: true; value: number } | { ok: false; error: HeadError } {
  if (values.length === 1) {
    const n = plainDecimal(values[0]);
    if (n >= 0) return { ok: true, value: n };
  }
  let found = -1;
  let isAmbiguous = false;
  for (const field of values) {
    for (const part of field.split(',')) {
      const v = trimOws(part);
      if (!DIGITS.test(v)) return { ok: false, error: 'h1-parse' };
      const n = Number(v);
      if (!Number.isSafeInteger(n)) return { ok: false, error: 'h1-parse' };
      if (found >= 0 && n !== found) isAmbiguous = true;
      found = n;
    }
  }
  return isAmbiguous ? { ok: false, error: 'h1-ambiguous-framing' } : { ok: true, value: found };
}

/** Transfer (or content) codings, lower-cased, in order; a parameterised coding keeps only its name. */
export function listCodings(values: string[]): string[] {
  const codings: string[] = [];
  for (const field of values) {
    for (const part of field.split(',')) {
      const semi = part.indexOf(';');
      const name = asciiLower(trimOws(semi < 0 ? part : part.slice(0, semi)));
      if (name !== '') codings.push(name);
    }
  }
  return codings;
}

/** chunked must be applied exactly once and last; returns whether it is. */
function isChunkedLast(codings: string[]): boolean {
  const at = codings.indexOf('chunked');
  return at >= 0 && at === codings.length - 1;
}

/**
 * Transfer-Encoding in an HTTP/1.0 message: the sender cannot have meant chunked framing, and
 * something in between may have kept part of the message, so RFC 9112 §6.1 says to treat the
 * framing as faulty. Peers that do not are exactly where smuggling hides.
 */
function isFaultyTransferEncoding(facts: HeadFacts, minor: number): boolean {
  return facts.contentLength !== undefined || minor === 0;
}

/**
 * Request body framing: chunked, Content-Length, or no body (RFC 9112 §6.3 items 3-6).
 * `minor` is the message's HTTP/1.x minor version.
 */
export function requestFraming(facts: HeadFacts, minor = 1): FramingResult {
  if (facts.transferEncoding !== undefined) {
    if (isFaultyTransferEncoding(facts, minor)) return { ok: false, error: 'h1-ambiguous-framing' };
    const codings = listCodings(facts.transferEncoding);
    if (!isChunkedLast(codings)) return { ok: false, error: 'h1-ambiguous-framing' };
    return { ok: true, value: { kind: 'chunked' } };
  }
  if (facts.contentLength !== undefined) {
    const cl = parseContentLength(facts.contentLength);
    if (!cl.ok) return cl;
    return { ok: true, value: cl.value === 0 ? { kind: 'none' } : { kind: 'length', length: cl.value } };
  }
  return { ok: true, value: { kind: 'none' } };
}

/**
 * Response body framing. The caller handles the no-body cases first (HEAD, 1xx, 204, 304,
 * 2xx to CONNECT). A last coding other than chunked means "until close" (RFC 9112 §6.3 item 4);
 * no length at all also means until close.
 */
export function responseFraming(facts: HeadFacts, minor = 1): FramingResult {
  if (facts.transferEncoding !== undefined) {
    if (isFaultyTransferEncoding(facts, minor)) return { ok: false, error: 'h1-ambiguous-framing' };
    const codings = listCodings(facts.transferEncoding);
    if (codings.indexOf('chunked') !== codings.lastIndexOf('chunked')) return { ok: false, error: 'h1-ambiguous-framing' };
    return { ok: true, value: isChunkedLast(codings) ? { kind: 'chunked' } : { kind: 'close' } };
  }
  if (facts.contentLength !== undefined) {
    const cl = parseContentLength(facts.contentLength);
    if (!cl.ok) return cl;
    return { ok: true, value: cl.value === 0 ? { kind: 'none' } : { kind: 'length', length: cl.value } };
  }
  return { ok: true, value: { kind: 'close' } };
}
