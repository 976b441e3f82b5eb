/**
 * Decodes a C++ flight recorder query answer (the layout is in native/src/core/recorder-ring.h)
 * into exchanges, one at a time when read: a `--last 10` query over a full recorder decodes 10
 * records, not every one. The dictionaries (names, fields, strings) are decoded once per query.
 */
import { httpDate } from '../common/index.js';
import type { NativeHeaderList, NativeRecordedExchange, NativeRecordedH2, NativeRecordedList } from './index.js';

/** method, scheme, authority, path from a request's pseudo-headers, the last of each winning (stream-tracker.ts). */
function pseudoHeadersOf(headers: NativeHeaderList): { method: string; scheme: string; authority: string; path: string } {
  const out = { method: '', scheme: '', authority: '', path: '' };
  for (const [name, value] of headers) {
    if (name.charCodeAt(0) !== 0x3a) continue;
    if (name === ':method') out.method = value;
    else if (name === ':scheme') out.scheme = value;
    else if (name === ':authority') out.authority = value;
    else if (name === ':path') out.path = value;
  }
  return out;
}

/** Packed value forms (recorder-ring.h): hex digit runs, an IMF-fixdate, a request line. */
const PACKED_HEX = 0;
const PACKED_DATE = 1;
const PACKED_REQUEST_LINE = 2;
const HEX_DIGITS = '0123456789abcdef';

export function decodeRecorderRecords(buf: Buffer, originNs: number): NativeRecordedList {
  let at = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[at++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const latin1 = (n: number): string => {
    const s = buf.toString('latin1', at, at + n);
    at += n;
    return s;
  };
  const str = (): string => latin1(varint());
  const names: string[] = [];
  for (let n = varint(); n > 0; n--) names.push(str());
  const utf8 = (): string => {
    const n = varint();
    const s = buf.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  // HTTP/2 fields: names latin1 (octets), values UTF-8 (the js observer's decoded text).
  const dict: Array<[string, string]> = [];
  for (let n = varint(); n > 0; n--) {
    const name = names[varint()]!;
    dict.push([name, utf8()]);
  }
  // Interned strings: HTTP/1 head lines and address hosts (octets).
  const strings: string[] = [];
  for (let n = varint(); n > 0; n--) strings.push(str());
  const frames: number[] = [];
  while (at + 4 <= buf.length) {
    frames.push(at + 4);
    at += 4 + buf.readUInt32LE(at);
  }
  const hexRuns = (): string => {
    const runs: number[] = [];
    for (let n = varint(); n > 0; n--) runs.push(varint());
    let out = '';
    let nibble = 0;
    for (let r = 0; r < runs.length; r++) {
      if (r > 0) out += '-';
      for (let d = 0; d < runs[r]!; d++, nibble++) {
        const byte = buf[at + (nibble >> 1)]!;
        out += HEX_DIGITS[(nibble & 1) === 0 ? byte >> 4 : byte & 15];
      }
    }
    at += (nibble + 1) >> 1;
    return out;
  };
  /** A packed value of form 0 or 1 (ASCII, so the same text read as latin1 or UTF-8). */
  const packed = (form: number): string => {
    if (form === PACKED_HEX) return hexRuns();
    if (form === PACKED_DATE) return httpDate(varint() * 1000);
    throw new Error(`flight recorder: unknown packed form ${form}`);
  };
  const addr = (): string => {
    const tag = varint();
    const kind = tag % 4;
    const x = (tag - kind) / 4;
    if (kind === 2) return latin1(x);
    const host = kind === 0 ? strings[x]! : latin1(x);
    return `${host}:${varint()}`;
  };
  const head = (): string => {
    let out = '';
    for (let n = varint(), i = 0; i < n; i++) {
      if (i > 0) out += '\r\n';
      const tag = varint();
      const kind = tag % 4;
      const x = (tag - kind) / 4;
      if (kind === 0) out += strings[x]!;
      else if (kind === 1) out += `${names[x]}: ${str()}`;
      else if (kind === 2) out += latin1(x);
      else {
        const form = buf[at++]!;
        if (form === PACKED_REQUEST_LINE) {
          const target = str();
          out += `${names[x]} ${target} HTTP/1.${String.fromCharCode(buf[at++]!)}`;
        } else out += `${names[x]}: ${packed(form)}`;
      }
    }
    return out;
  };
  const fields = (): NativeHeaderList => {
    const out: NativeHeaderList = [];
    for (let n = varint(); n > 0; n--) {
      const tag = varint();
      const kind = tag % 4;
      const x = (tag - kind) / 4;
      if (kind === 0) {
        const [name, value] = dict[x]!;
        out.push([name, value]);
      } else if (kind === 1) out.push([names[x]!, utf8()]);
      else if (kind === 2) {
        const name = latin1(x);
        out.push([name, utf8()]);
      } else out.push([names[x]!, packed(buf[at++]!)]);
    }
    return out;
  };
  const bodiesOf = (): Array<{ data: Buffer; size: number; truncated: boolean }> => {
    const out = [];
    for (let d = 0; d < 2; d++) {
      const size = varint();
      const truncated = buf[at++] === 1;
      const n = varint();
      out.push({ data: Buffer.from(buf.subarray(at, at + n)), size, truncated });
      at += n;
    }
    return out;
  };
  /** The times, status and addresses every entry starts with (HTTP/1 and h2 alike). */
  const timesAndPeers = (flags: number, endMs: number) => {
    const startMs = endMs - varint() / 1e6;
    const hasStatus = (flags & 4) !== 0;
    const responseMs = hasStatus ? startMs + varint() / 1e6 : 0;
    const status = hasStatus ? varint() : 0;
    const src = addr();
    const dst = addr();
    return { startMs, hasStatus, responseMs, status, src, dst };
  };
  const decodeH2 = (connId: number, stream: number, flags: number, endMs: number): NativeRecordedExchange => {
    const h2flags = buf[at++]!;
    const { startMs, hasStatus, responseMs, status, src, dst } = timesAndPeers(flags, endMs);
    const isFromH2c = (h2flags & 32) !== 0;
    const given = isFromH2c ? { method: utf8(), scheme: utf8(), authority: utf8(), path: utf8() } : undefined;
    const requestHeaders = fields();
    const responseHeaders = hasStatus ? fields() : [];
    const requestTrailers = fields();
    const trailers = fields();
    const requestBytes = varint();
    const responseBytes = varint();
    const isGrpc = (h2flags & 1) !== 0;
    const h2: NativeRecordedH2 = {
      isGrpc, isFromH2c, hasResponseHead: hasStatus, ...(given ?? pseudoHeadersOf(requestHeaders)), requestHeaders, responseHeaders, requestTrailers, trailers,
      requestMessages: isGrpc ? varint() : 0, responseMessages: isGrpc ? varint() : 0,
      requestCompressed: (h2flags & 8) !== 0, responseCompressed: (h2flags & 16) !== 0,
    };
    if ((h2flags & 2) !== 0) h2.grpcStatus = varint();
    if ((h2flags & 4) !== 0) h2.grpcMessage = utf8();
    if ((h2flags & 64) !== 0) h2.unprocessed = 'refused';
    else if ((h2flags & 128) !== 0) h2.unprocessed = 'goaway';
    const r: NativeRecordedExchange = {
      connId, stream, proxy: (flags & 1) !== 0 ? 'in' : 'out', isHttp10: false, src, dst, startMs, responseMs, endMs, status,
      requestHead: '', responseHead: '', requestTrailers: '', trailers: '', requestBytes, responseBytes, h2,
    };
    if ((flags & 8) !== 0) r.error = str();
    if ((flags & 16) !== 0) r.bodies = bodiesOf();
    return r;
  };
  const decode = (from: number): NativeRecordedExchange => {
    at = from;
    const endNs = buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 4294967296;
    at += 8;
    const connId = varint();
    const stream = varint();
    const flags = buf[at++]!;
    if ((flags & 32) !== 0) return decodeH2(connId, stream, flags, (endNs - originNs) / 1e6);
    const endMs = (endNs - originNs) / 1e6;
    const { startMs, hasStatus, responseMs, status, src, dst } = timesAndPeers(flags, endMs);
    const requestHead = head();
    const responseHead = hasStatus ? head() : '';
    const requestTrailers = head();
    const trailers = head();
    const requestBytes = varint();
    const responseBytes = varint();
    const r: NativeRecordedExchange = {
      connId, stream, proxy: (flags & 1) !== 0 ? 'in' : 'out', isHttp10: (flags & 2) !== 0, src, dst, startMs, responseMs, endMs, status,
      requestHead, responseHead, requestTrailers, trailers, requestBytes, responseBytes,
    };
    if ((flags & 8) !== 0) r.error = str();
    if ((flags & 64) !== 0) r.responseComplete = true;
    if ((flags & 16) !== 0) r.bodies = bodiesOf();
    return r;
  };
  return { length: frames.length, get: (i) => decode(frames[i]!) };
}
