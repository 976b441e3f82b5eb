/**
 * Protocol detection on the first client bytes, without holding them back: bytes are
 * forwarded as they arrive and detection only decides which observer (if any) reads them.
 * Like linkerd2-proxy's detector it biases towards availability: anything unclear is opaque.
 */

/** The HTTP/2 connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Enough bytes to decide: the preface, or a method token plus a space. */
export const DETECT_MAX_BYTES = H2_PREFACE.length;

export type Detection = 'h1' | 'h2' | 'opaque' | 'need-more';

const SP = 0x20;

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
  for (let i = 0; i < n; i++) {
    const b = head[i];
    if (b === SP) return i > 0 ? 'h1' : 'opaque';
    if (!isMethodChar(b) || i >= 20) return 'opaque';
  }
  return n >= DETECT_MAX_BYTES ? 'opaque' : 'need-more';
}
