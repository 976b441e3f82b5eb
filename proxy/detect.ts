/**
 * Protocol detection on the first client bytes, without holding them back: bytes are
 * forwarded as they arrive and detection only decides which observer (if any) reads them.
 * Like linkerd2-proxy's detector it biases towards availability: anything unclear is opaque.
 */
import { H2_PREFACE } from '../tap-protocol/index.js';

export { H2_PREFACE };

/**
 * Empty lines (CRLF) a request line may follow: RFC 9112 §2.2 asks servers to skip at least
 * one, and old clients send a stray CRLF after a body on keep-alive. The HTTP/1 head reader
 * skips them too; more than this many is not HTTP/1 in practice.
 */
export const MAX_LEADING_EMPTY_LINES = 8;

/** Enough bytes to decide: the preface, or leading empty lines then a method token plus a space. */
export const DETECT_MAX_BYTES = H2_PREFACE.length + 2 * MAX_LEADING_EMPTY_LINES;

export type Detection = 'h1' | 'h2' | 'opaque' | 'need-more';

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
/** Longest method token looked at before calling the bytes opaque. */
const MAX_METHOD_CHARS = 20;

/** An HTTP method token character (RFC 9110 tchar, upper-case letters in practice). */
function isMethodChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f;
}

/** Classifies the first bytes a client sent. `need-more` until it can tell. */
export function detectProtocol(head: Buffer): Detection {
  const n = head.length;
  if (n === 0) return 'need-more';
  const prefixLen = Math.min(n, H2_PREFACE.length);
  if (head.compare(H2_PREFACE, 0, prefixLen, 0, prefixLen) === 0) {
    if (n >= H2_PREFACE.length) return 'h2';
    // "PRI" may also be an HTTP/1 method only in theory; wait for the full preface.
    return 'need-more';
  }
  // Leading empty lines (CRLF only: a bare LF or CR is where parsers disagree).
  let from = 0;
  while (from < n && head[from] === CR) {
    if (from + 1 === n) return 'need-more';
    if (head[from + 1] !== LF || from >= 2 * MAX_LEADING_EMPTY_LINES) return 'opaque';
    from += 2;
  }
  for (let i = from; i < n; i++) {
    const b = head[i];
    if (b === SP) return i > from ? 'h1' : 'opaque';
    if (!isMethodChar(b) || i - from >= MAX_METHOD_CHARS) return 'opaque';
  }
  return 'need-more';
}
