/**
 * Hand-made HTTP/2 frames for bad-input tests (RFC 9113 §4.1, RFC 7541): a frame builder and a
 * minimal HPACK literal encoder (no indexing, no Huffman), so a test can write exactly the
 * malformed bytes it means to — which no real client library will send.
 */
import { H2_PREFACE } from '../../tap-protocol/index.js';
import { clientStart, frame as h2Frame } from '../../proxy/h2/test-support/frames.js';
import { encodeBlock, encodeInteger } from '../../proxy/h2/test-support/hpack-encoder.js';

/** The builders live once, in proxy/h2/test-support/ (the observer's tests); these are their names here. */
export const PREFACE = H2_PREFACE;
export const FRAME = { DATA: 0, HEADERS: 1, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

/** One frame: 9-byte header + payload (the reserved stream-id bit cleared). */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return h2Frame(type, flags, stream & 0x7fffffff, payload);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `flags` fills the bits above the prefix. */
export const hpackInt = encodeInteger;

/** A header block of "literal without indexing, new name" fields (§6.2.2), no Huffman. */
export const hpackLiterals = (headers: Array<[string, string]>): Buffer => encodeBlock(headers);

/** The client's connection start: preface and an empty SETTINGS. */
export { clientStart };

/** A GET request's HEADERS frame (END_HEADERS; END_STREAM unless `open`). */
export function getHeaders(stream: number, path: string, authority = 'h2.test', open = false): Buffer {
  const block = hpackLiterals([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', authority]]);
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | (open ? 0 : FLAG.END_STREAM), stream, block);
}

export interface ParsedFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** The complete frames in `b` (a server's bytes: no preface), in order. */
export function parseFrames(b: Buffer): ParsedFrame[] {
  const out: ParsedFrame[] = [];
  let at = 0;
  while (at + 9 <= b.length) {
    const len = b.readUIntBE(at, 3);
    if (at + 9 + len > b.length) break;
    out.push({ type: b[at + 3], flags: b[at + 4], stream: b.readUInt32BE(at + 5) & 0x7fffffff, payload: b.subarray(at + 9, at + 9 + len) });
    at += 9 + len;
  }
  return out;
}
