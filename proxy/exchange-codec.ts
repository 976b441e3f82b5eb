/**
 * Compact flight-recorder records of finished exchanges: what the recorder keeps instead of the
 * `Exchange` objects themselves. An object per exchange (its strings, a pair array per header,
 * V8's headers on each) cost ~2.4 KB, so the default 8 MiB held under 30 s at 110 exchanges/s;
 * a record holds the same facts in ~10× less.
 *
 * Records are packed into chunks (64 KiB buffers). Numbers are varints (times stay float64, so
 * latency and duration come out bit for bit); strings are UTF-8, and a string already written in
 * the same chunk (a header name, `User-Agent: …`, an authority, a path) is written again as a
 * back-reference of 1–3 bytes. An HTTP/1 head's fields are kept as their lines (`name: value`,
 * as seen) and decoded by the HTTP/1 observer's own parser on a query, so an exchange nobody
 * reads never has its header list built. Decoding yields an `Exchange` whose `end` event is the
 * one the live path makes (exchange-events.ts endEvent): the same function makes it.
 *
 * Strings round-trip exactly: every string here is ASCII, latin1 head text or the result of a
 * UTF-8 decode (field-text.ts), none holds a lone surrogate.
 */
import type { HeaderList, Protocol } from '../tap-protocol/index.js';
import { fieldList, type FieldSection } from './http1/head-parse.js';
import type { Exchange } from './observe.js';

/** Bytes of an ordinary chunk (a record larger than this gets a chunk of its own). */
export const CHUNK_BYTES = 64 * 1024;
/** Longest string looked up for reuse (longer ones are rarely repeated and would only cost lookups). */
const MAX_INTERNED_CHARS = 512;

/** A buffer of records. */
export class Chunk {
  used = 0;
  /** Strings written in this chunk → offset of their literal; only while the chunk is written to. */
  seen: Map<string, number> | undefined = new Map();
  /** Records still held in this chunk. */
  records = 0;
  constructor(readonly buf: Buffer) {}
}

export function createChunk(bytes: number): Chunk {
  return new Chunk(Buffer.allocUnsafeSlow(bytes));
}

/** The connection an exchange was seen on (its event's id, direction, addresses). */
export interface RecordedConnection {
  id: number;
  proxy: 'in' | 'out';
  src: string;
  dst: string;
}

/** Thrown when a record does not fit the chunk's room (the caller retries in a new chunk). */
const FULL = new Error('chunk full');

const PROTOCOLS: readonly Protocol[] = ['http/1.1', 'http/1.0', 'h2', 'grpc'];
const F_GRPC_STATUS = 1;
const F_GRPC_MESSAGE = 2;
const F_ERROR = 4;
const F_REQ_COMPRESSED = 8;
const F_RSP_COMPRESSED = 16;
/** An HTTP/2 stream the server never processed (observe.ts `unprocessed`), by reason. */
const F_UNPROCESSED_REFUSED = 32;
const F_UNPROCESSED_GOAWAY = 64;
/** An HTTP/1 response that came whole (Exchange.isResponseComplete). */
const F_RESPONSE_COMPLETE = 128;
const H_LIST = 0;
const H_LINES = 1;

/** An HTTP/1 exchange offers its heads' field sections (kept as text): see http1-exchange.ts. */
interface WithSections {
  headerSection?(which: 'request' | 'response'): FieldSection | undefined;
}

/** Whether a section's text holds exactly `count` lines (one field each) before its empty line. */
function isOneFieldPerLine(section: FieldSection): boolean {
  const { text } = section;
  let lines = 0;
  for (let at = text.indexOf('\r\n', section.start); at !== -1 && at < text.length - 2; at = text.indexOf('\r\n', at + 2)) lines++;
  return lines === section.count;
}

class Writer {
  off: number;
  constructor(
    readonly c: Chunk,
    readonly end: number,
  ) {
    this.off = c.used;
  }
  room(n: number): void {
    if (this.off + n > this.end) throw FULL;
  }
  u8(v: number): void {
    this.room(1);
    this.c.buf[this.off++] = v;
  }
  uint(v: number): void {
    // Unsigned integers up to 2^53: 7 bits per byte.
    this.room(8);
    while (v >= 0x80) {
      this.c.buf[this.off++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.c.buf[this.off++] = v;
  }
  f64(v: number): void {
    this.room(8);
    this.c.buf.writeDoubleLE(v, this.off);
    this.off += 8;
  }
  str(s: string): void {
    const seen = this.c.seen;
    if (seen !== undefined && s.length <= MAX_INTERNED_CHARS) {
      const at = seen.get(s);
      if (at !== undefined) return this.uint(at * 2 + 1);
      seen.set(s, this.off);
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint(bytes * 2);
    this.room(bytes);
    this.c.buf.write(s, this.off, bytes, 'utf8');
    this.off += bytes;
  }
  headers(ex: Exchange & WithSections, which: 'request' | 'response', list: () => HeaderList): void {
    const section = ex.headerSection?.(which);
    if (section !== undefined && isOneFieldPerLine(section)) {
      const { text } = section;
      this.u8(H_LINES);
      this.uint(section.count);
      let from = section.start;
      for (let i = 0; i < section.count; i++) {
        const eol = text.indexOf('\r\n', from);
        this.str(text.slice(from, eol));
        from = eol + 2;
      }
      return;
    }
    this.list(list());
  }
  list(h: HeaderList): void {
    this.u8(H_LIST);
    this.uint(h.length);
    for (const [name, value] of h) {
      this.str(name);
      this.str(value);
    }
  }
}

/**
 * Appends the record of `ex` (finished) seen on `conn` to `chunk`; returns its size in bytes, or
 * -1 when it does not fit the chunk's room (nothing is kept then: write it to a new chunk).
 */
export function encodeExchange(chunk: Chunk, conn: RecordedConnection, maker: number, ex: Exchange): number {
  const start = chunk.used;
  const seenBefore = chunk.seen?.size ?? 0;
  const w = new Writer(chunk, chunk.buf.length);
  try {
    w.uint(conn.id);
    w.u8((conn.proxy === 'in' ? 0 : 1) | (PROTOCOLS.indexOf(ex.protocol) << 1));
    w.str(conn.src);
    w.str(conn.dst);
    w.uint(maker);
    w.uint(ex.stream);
    w.str(ex.method);
    w.str(ex.scheme);
    w.str(ex.authority);
    w.str(ex.path);
    w.f64(ex.startMs);
    w.f64(ex.responseMs);
    w.f64(ex.endMs);
    w.uint(ex.status);
    w.headers(ex, 'request', () => ex.requestHeaders);
    if (ex.status) w.headers(ex, 'response', () => ex.responseHeaders);
    w.list(ex.trailers);
    w.list(ex.requestTrailers);
    w.uint(ex.requestBytes);
    w.uint(ex.responseBytes);
    w.uint(ex.requestMessages);
    w.uint(ex.responseMessages);
    const flags =
      (ex.grpcStatus !== undefined ? F_GRPC_STATUS : 0) |
      (ex.grpcMessage !== undefined ? F_GRPC_MESSAGE : 0) |
      (ex.error !== undefined ? F_ERROR : 0) |
      (ex.requestCompressed ? F_REQ_COMPRESSED : 0) |
      (ex.responseCompressed ? F_RSP_COMPRESSED : 0) |
      (ex.unprocessed === 'refused' ? F_UNPROCESSED_REFUSED : ex.unprocessed === 'goaway' ? F_UNPROCESSED_GOAWAY : 0) |
      (ex.isResponseComplete === true ? F_RESPONSE_COMPLETE : 0);
    w.u8(flags);
    if (ex.grpcStatus !== undefined) w.f64(ex.grpcStatus);
    if (ex.grpcMessage !== undefined) w.str(ex.grpcMessage);
    if (ex.error !== undefined) w.str(ex.error);
  } catch (err) {
    if (err !== FULL) throw err;
    // Strings first written by this record are gone with it.
    if (chunk.seen !== undefined && chunk.seen.size !== seenBefore) for (const [s, at] of chunk.seen) if (at >= start) chunk.seen.delete(s);
    return -1;
  }
  chunk.used = w.off;
  return w.off - start;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public off: number,
  ) {}
  u8(): number {
    return this.buf[this.off++]!;
  }
  uint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.off++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }
  str(): string {
    const tag = this.uint();
    if (tag % 2 === 1) return new Reader(this.buf, (tag - 1) / 2).str();
    const n = tag / 2;
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
  headers(): HeaderList {
    const form = this.u8();
    const count = this.uint();
    if (form === H_LINES) {
      let text = '';
      for (let i = 0; i < count; i++) text += this.str() + '\r\n';
      return fieldList({ text: text + '\r\n', start: 0, count, chars: 0, list: undefined });
    }
    const out: HeaderList = [];
    for (let i = 0; i < count; i++) out.push([this.str(), this.str()]);
    return out;
  }
}

/** Reads the record at `offset`: its connection, event-maker index and exchange. */
export function decodeExchange(buf: Buffer, offset: number): { conn: RecordedConnection; maker: number; ex: Exchange } {
  const r = new Reader(buf, offset);
  const id = r.uint();
  const bits = r.u8();
  const conn: RecordedConnection = { id, proxy: bits & 1 ? 'out' : 'in', src: r.str(), dst: r.str() };
  const maker = r.uint();
  const stream = r.uint();
  const method = r.str();
  const scheme = r.str();
  const authority = r.str();
  const path = r.str();
  const startMs = r.f64();
  const responseMs = r.f64();
  const endMs = r.f64();
  const status = r.uint();
  const requestHeaders = r.headers();
  const responseHeaders = status ? r.headers() : [];
  const trailers = r.headers();
  const requestTrailers = r.headers();
  const ex: Exchange = {
    stream,
    protocol: PROTOCOLS[bits >> 1]!,
    method,
    scheme,
    authority,
    path,
    requestHeaders,
    requestTrailers,
    status,
    responseHeaders,
    trailers,
    requestBytes: r.uint(),
    responseBytes: r.uint(),
    requestMessages: r.uint(),
    responseMessages: r.uint(),
    requestCompressed: false,
    responseCompressed: false,
    startMs,
    responseMs,
    endMs,
  };
  const flags = r.u8();
  ex.requestCompressed = (flags & F_REQ_COMPRESSED) !== 0;
  ex.responseCompressed = (flags & F_RSP_COMPRESSED) !== 0;
  if (flags & F_GRPC_STATUS) ex.grpcStatus = r.f64();
  if (flags & F_GRPC_MESSAGE) ex.grpcMessage = r.str();
  if (flags & F_ERROR) ex.error = r.str();
  if (flags & F_UNPROCESSED_REFUSED) ex.unprocessed = 'refused';
  else if (flags & F_UNPROCESSED_GOAWAY) ex.unprocessed = 'goaway';
  if (flags & F_RESPONSE_COMPLETE) ex.isResponseComplete = true;
  return { conn, maker, ex };
}
