/**
 * Content codings of captured bodies, undone for viewers (session 16): a body sent with
 * `Content-Encoding: gzip` (or br, deflate, a stack of two) is decoded, bounded, so it can be
 * scrubbed as text and shown. The sidecar shapes bodies with it (proxy/body-redact.ts) and replay
 * decodes a target's answer the same way before comparing it with a decoded recording.
 *
 * Bounded: the output is cut at `cap` bytes (zlib's maxOutputLength stops a bomb after one chunk
 * past it), and an input whose output is over the cap is searched for a prefix whose output
 * reaches it in a bounded number of decodes (MAX_PREFIX_DECODES), each bounded by twice the cap
 * (brotli: and by its window, up to 16 MiB of work).
 * A capture cut at the body limit is decoded as far as its bytes go (sync flush).
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type { HeaderList, TapBody } from './events.js';
import { GRPC_FRAME_HEADER_BYTES } from './constants.js';

/** At most this many codings on one body are undone ("gzip, br"); more: not decoded. */
export const MAX_DECODED_CODINGS = 2;
/**
 * Decodes of a prefix in finding the part of an input whose output reaches the cap: each is
 * bounded by twice the cap, and a brotli one also by its window (up to 16 MiB of work: a bomb's
 * long copies fill it before any output), so brotli gets fewer.
 */
const MAX_PREFIX_DECODES = 8;
const MAX_BROTLI_PREFIX_DECODES = 2;
const BROTLI_SEARCH_RATIO = 256;

type Inflate = (input: Buffer, options: Zlib.ZlibOptions | Zlib.BrotliOptions) => Buffer;

let zlibModule: typeof Zlib | undefined;
/** node:zlib, loaded at the first decode: a sidecar does not load it at start-up (test/native-startup-modules: RSS). */
const zlibOf = (): typeof Zlib => (zlibModule ??= createRequire(import.meta.url)('node:zlib') as typeof Zlib);

/** Whether bytes start with a zlib (RFC 1950) header: deflate as HTTP means it, not the raw stream some servers send. */
function isZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && (b[0]! >> 4) <= 7 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

function inflaterFor(coding: string, input: Buffer): { fn: Inflate; flush: number } | undefined {
  const zlib = zlibOf();
  if (coding === 'gzip' || coding === 'x-gzip') return { fn: zlib.gunzipSync, flush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'deflate') return { fn: isZlibHeader(input) ? zlib.inflateSync : zlib.inflateRawSync, flush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'br') return { fn: zlib.brotliDecompressSync as Inflate, flush: zlib.constants.BROTLI_OPERATION_FLUSH };
  return undefined;
}

/** Whether meshtap can undo this coding (`identity` needs no undoing). */
export function isDecodableCoding(coding: string): boolean {
  return coding === 'gzip' || coding === 'x-gzip' || coding === 'deflate' || coding === 'br';
}

const isTooLarge = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';

/** Decoded bytes; `truncated`: the input was cut or the output reached the cap (`capped`). */
export interface Decoded {
  bytes: Buffer;
  truncated: boolean;
  capped: boolean;
}

/**
 * One coding undone: the output (at most `cap` bytes) and whether it is cut (the input was, or
 * the output reached the cap); undefined when the bytes are not of that coding.
 */
function undoOne(coding: string, input: Buffer, cut: boolean, cap: number): Decoded | undefined {
  const inflater = inflaterFor(coding, input);
  if (inflater === undefined) return undefined;
  const { fn, flush } = inflater;
  // maxOutputLength must be at least 1; a cap of 0 keeps nothing.
  const fits = (n: number, max: number): Buffer => fn(input.subarray(0, n), { maxOutputLength: Math.max(1, max), finishFlush: flush });
  try {
    // A whole input must end its stream (a gzip cut by its sender is an error); a cut one is read as far as it goes.
    const out = fn(input, cut ? { maxOutputLength: Math.max(1, cap), finishFlush: flush } : { maxOutputLength: Math.max(1, cap) });
    if (out.length <= cap) return { bytes: out, truncated: cut, capped: false };
  } catch (e) {
    if (!isTooLarge(e)) return undefined;
  }
  // Over the cap: a prefix of the input whose output is between the cap and twice it, cut at the
  // cap. The next guess follows the ratio seen so far (most text is found in two or three decodes);
  // a guess past twice the cap tries a quarter of it. Bounded in decodes (a stream where one input
  // byte is worth more than twice the cap, a brotli bomb's long copies, stops with what fitted, maybe
  // nothing), so the figure shown does not depend on the machine's load.
  let lo = 0;
  let hi = input.length;
  let best: Buffer = Buffer.alloc(0);
  let guess = Math.min(hi - 1, Math.max(1, Math.floor(cap / 4)));
  // A brotli input whose whole output passed the cap at a ratio over BROTLI_SEARCH_RATIO (a bomb:
  // text compresses 5-20x) is not searched: each brotli decode fills its window first.
  const decodes = coding !== 'br' ? MAX_PREFIX_DECODES : cap > BROTLI_SEARCH_RATIO * input.length ? 0 : MAX_BROTLI_PREFIX_DECODES;
  for (let step = 0; step < decodes && hi - lo > 1; step++) {
    try {
      const out = fits(guess, 2 * cap);
      if (out.length >= cap) return { bytes: out.subarray(0, cap), truncated: true, capped: true };
      lo = guess;
      best = out;
      // Aim at 1.5 times the cap at the ratio seen (at least one byte more).
      guess = Math.min(hi - 1, Math.max(lo + 1, Math.floor(out.length > 0 ? (lo * 1.5 * cap) / out.length : lo * 2)));
    } catch {
      hi = guess;
      guess = lo + ((hi - lo) >>> 2);
    }
    if (guess <= lo) break;
  }
  return { bytes: best, truncated: true, capped: true };
}

/**
 * Bytes with `codings` (in the order they were applied, as the headers list them) undone, last
 * first, each output bounded by `cap`. Undefined when a coding is unknown (zstd, compress…), there
 * are more than MAX_DECODED_CODINGS, or the bytes do not decode.
 */
export function decodeCodings(bytes: Buffer, codings: readonly string[], cut: boolean, cap: number): Decoded | undefined {
  if (codings.length === 0 || codings.length > MAX_DECODED_CODINGS || !codings.every(isDecodableCoding)) return undefined;
  let out: Decoded = { bytes, truncated: cut, capped: false };
  for (let i = codings.length - 1; i >= 0; i--) {
    const next = undoOne(codings[i]!, out.bytes, out.truncated, cap);
    if (next === undefined) return undefined;
    out = { ...next, capped: next.capped || out.capped };
  }
  return out;
}

/** Codings of a field value, lower-cased, in order (parameters dropped), as http1/framing lists them. */
function splitCodings(value: string, into: string[]): void {
  for (const part of value.split(',')) {
    const semi = part.indexOf(';');
    const name = (semi < 0 ? part : part.slice(0, semi)).replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase();
    if (name !== '') into.push(name);
  }
}

/**
 * The codings applied to a body sent with these headers, in the order they were applied: its
 * content codings, then its transfer codings other than `chunked` (HTTP/1 applies those after);
 * `identity` is none. Empty when the body is not coded. `grpc-encoding` is not among them (a gRPC
 * body is coded per message: decodeGrpcFrames).
 */
export function bodyCodings(headers: HeaderList | undefined): string[] {
  const content: string[] = [];
  const transfer: string[] = [];
  for (const [k, v] of headers ?? []) {
    const n = k.toLowerCase();
    if (n === 'content-encoding') splitCodings(v, content);
    else if (n === 'transfer-encoding') splitCodings(v, transfer);
  }
  return [...content, ...transfer].filter((c) => c !== 'identity' && c !== 'chunked');
}

/** The grpc-encoding of a gRPC body's messages (lower case; undefined: none or identity). */
export function grpcEncodingOf(headers: HeaderList | undefined): string | undefined {
  for (const [k, v] of headers ?? []) {
    if (k.toLowerCase() !== 'grpc-encoding') continue;
    const list: string[] = [];
    splitCodings(v, list);
    const coding = list.find((c) => c !== 'identity');
    if (coding !== undefined) return list.length === 1 ? coding : list.join(', ');
  }
  return undefined;
}

/**
 * A gRPC body (length-prefixed messages) with each compressed message (flag 1) decoded per
 * `encoding` (gzip or deflate, as grpc-encoding names them) and re-framed with flag 0 and its
 * decoded length, so every prefix holds. Bounded: the whole output by `cap` (a message past it is
 * cut, and the body with it). A message the capture cut is decoded as far as its bytes go and ends
 * the body, its prefix the length of what was decoded (`truncated` says the body is cut). Undefined
 * when a compressed message cannot be decoded; `decoded` false when no message was compressed.
 */
export function decodeGrpcFrames(bytes: Buffer, encoding: string, cut: boolean, cap: number): (Decoded & { decoded: boolean }) | undefined {
  const coding = encoding === 'gzip' || encoding === 'deflate' ? encoding : undefined;
  const parts: Buffer[] = [];
  let total = 0;
  let at = 0;
  let decoded = false;
  let truncated = cut;
  let capped = false;
  while (at + GRPC_FRAME_HEADER_BYTES <= bytes.length) {
    const compressed = bytes[at] === 1;
    const size = bytes.readUInt32BE(at + 1);
    const start = at + GRPC_FRAME_HEADER_BYTES;
    const end = Math.min(start + size, bytes.length);
    const raw = bytes.subarray(start, end);
    const room = Math.max(0, cap - total - GRPC_FRAME_HEADER_BYTES);
    // The capture cut this message: nothing follows it.
    let stop = end - start < size;
    let payload: Buffer;
    if (compressed) {
      if (coding === undefined) return undefined;
      // gRPC's deflate is the zlib format (RFC 1950), as HTTP's.
      const out = undoOne(coding, raw, stop, room);
      if (out === undefined) return undefined;
      payload = out.bytes;
      decoded = true;
      if (out.truncated) stop = truncated = true;
      if (out.capped) capped = true;
    } else {
      payload = raw.length > room ? raw.subarray(0, room) : raw;
      if (payload.length < raw.length) stop = truncated = capped = true;
    }
    const prefix = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
    // A plain message keeps its prefix (cut: the length it said, as in any capture); a decoded one says what it holds.
    prefix.writeUInt32BE(compressed ? payload.length : size, 1);
    parts.push(prefix, payload);
    total += GRPC_FRAME_HEADER_BYTES + payload.length;
    at = end;
    if (stop) break;
    if (at < bytes.length && total + GRPC_FRAME_HEADER_BYTES > cap) {
      truncated = capped = true;
      break;
    }
  }
  // A partial prefix (1-4 bytes) left at the end carries no payload: dropped, as splitGrpcFrames does.
  return { bytes: Buffer.concat(parts), truncated, capped, decoded };
}

/**
 * A TapBody of decoded bytes: UTF-8 text when they are (a cut text loses the bytes of a last
 * character it cut, unless `trimCutCharacter` is false: gRPC frames keep their bytes), else
 * base64; `size` stays the body's size on the wire.
 */
export function decodedTapBody(bytes: Buffer, size: number, truncated: boolean, decoded: string, trimCutCharacter = true): TapBody {
  let shown = bytes;
  if (trimCutCharacter && truncated && !isUtf8(shown)) {
    for (let back = 1; back <= 3 && back <= shown.length; back++) {
      if (isUtf8(shown.subarray(0, shown.length - back))) {
        shown = shown.subarray(0, shown.length - back);
        break;
      }
    }
  }
  const text = isUtf8(shown);
  return { size, truncated, encoding: text ? 'utf8' : 'base64', data: text ? shown.toString('utf8') : bytes.toString('base64'), decoded };
}
