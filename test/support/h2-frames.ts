/**
 * Hand-made HTTP/2 frames for bad-input tests (RFC 9113 §4.1, RFC 7541): a frame builder and a
 * minimal HPACK literal encoder (no indexing, no Huffman), so a test can write exactly the
 * malformed bytes it means to — which no real client library will send.
 */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

/** One frame: 9-byte header + payload. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `flags` fills the bits above the prefix. */
export function hpackInt(value: number, prefixBits: number, flags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(b.length, 7), b]);
}

/** A header block of "literal without indexing, new name" fields (§6.2.2). */
export function hpackLiterals(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(headers.flatMap(([k, v]) => [Buffer.from([0x00]), hpackString(k), hpackString(v)]));
}

/** The client's connection start: preface and an empty SETTINGS. */
export function clientStart(): Buffer {
  return Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]);
}

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
