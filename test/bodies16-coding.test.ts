/**
 * Session 16 (bodies16): the bounded decoder behind decoded bodies (tap-protocol/body-coding.ts)
 * and redactBody's use of it: every supported coding and stack, what it refuses, a cut capture,
 * a bomb, gRPC messages re-framed.
 */
import { brotliCompressSync, constants as zlibConstants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bodyRedactionRules, redactBody } from '../proxy/index.js';
import { bodyCodings, decodeCodings, decodeGrpcFrames, grpcEncodingOf, type TapBody } from '../tap-protocol/index.js';

const JSON_TEXT = JSON.stringify({ user: 'ann', password: 'hunter2-very-secret', items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item ${i}` })) });
const text = Buffer.from(JSON_TEXT);
const asBody = (b: Buffer, truncated = false, size = b.length): TapBody => ({ size, truncated, encoding: 'base64', data: b.toString('base64') });
const frame = (flag: number, payload: Buffer): Buffer => {
  const p = Buffer.alloc(5);
  p[0] = flag;
  p.writeUInt32BE(payload.length, 1);
  return Buffer.concat([p, payload]);
};

describe('bodies16: decodeCodings', () => {
  it('undoes gzip, x-gzip, deflate (zlib and raw) and br, and a stack of two last first', () => {
    expect(decodeCodings(gzipSync(text), ['gzip'], false, 1 << 20)).toEqual({ bytes: text, truncated: false, capped: false });
    expect(decodeCodings(gzipSync(text), ['x-gzip'], false, 1 << 20)!.bytes).toEqual(text);
    expect(decodeCodings(deflateSync(text), ['deflate'], false, 1 << 20)!.bytes).toEqual(text);
    expect(decodeCodings(deflateRawSync(text), ['deflate'], false, 1 << 20)!.bytes).toEqual(text);
    expect(decodeCodings(brotliCompressSync(text), ['br'], false, 1 << 20)!.bytes).toEqual(text);
    // Content-Encoding: gzip, br means gzip first, then br.
    expect(decodeCodings(brotliCompressSync(gzipSync(text)), ['gzip', 'br'], false, 1 << 20)!.bytes).toEqual(text);
  });

  it('refuses unknown codings, more than two, and bytes that do not decode', () => {
    expect(decodeCodings(text, ['zstd'], false, 1 << 20)).toBeUndefined();
    expect(decodeCodings(text, ['compress'], false, 1 << 20)).toBeUndefined();
    expect(decodeCodings(gzipSync(gzipSync(gzipSync(text))), ['gzip', 'gzip', 'gzip'], false, 1 << 20)).toBeUndefined();
    const corrupt = gzipSync(text);
    corrupt.fill(0x55, 12, 40);
    expect(decodeCodings(corrupt, ['gzip'], false, 1 << 20)).toBeUndefined();
    // A whole body whose gzip its sender cut is not one that decodes.
    expect(decodeCodings(gzipSync(text).subarray(0, 40), ['gzip'], false, 1 << 20)).toBeUndefined();
  });

  it('a capture cut at the limit decodes as far as its bytes go, truncated', () => {
    for (const [coding, coded] of [['gzip', gzipSync(text)], ['br', brotliCompressSync(text)], ['deflate', deflateSync(text)]] as const) {
      const half = coded.subarray(0, coded.length >> 1);
      const out = decodeCodings(half, [coding], true, 1 << 20)!;
      expect(out.truncated).toBe(true);
      expect(out.capped).toBe(false); // cut by the capture, not by the cap
      expect(out.bytes.length).toBeGreaterThan(0);
      expect(text.subarray(0, out.bytes.length)).toEqual(out.bytes);
    }
  });

  it('a bomb (100 MiB of zeros from 1 KiB) decodes to at most the cap, truncated', () => {
    const zeros = Buffer.alloc(100 * 1024 * 1024);
    const gz = gzipSync(zeros, { level: 9 });
    // A 1 KiB body that is 100 MiB decoded: br, and gzip twice over.
    const bombs = [['gzip', gz], ['br', brotliCompressSync(zeros, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } })], ['gzip, gzip', gzipSync(gz, { level: 9 })]] as const;
    for (const [coding, coded] of bombs) {
      if (coding !== 'gzip') expect(coded.length).toBeLessThan(1024);
      const out = decodeCodings(coded, coding.split(', '), false, 64 * 1024)!;
      expect(out.truncated).toBe(true);
      expect(out.capped).toBe(true);
      // gzip reaches the cap exactly; where one input byte is worth more than the cap (br's long
      // copies, the inner gzip's first block) the output stops before it.
      if (coding === 'gzip') expect(out.bytes.length).toBe(64 * 1024);
      else expect(out.bytes.length).toBeLessThanOrEqual(64 * 1024);
      expect(out.bytes.every((b) => b === 0)).toBe(true);
      // cut at the capture limit as well
      const cut = decodeCodings(coded.subarray(0, coded.length >> 1), coding.split(', '), true, 64 * 1024)!;
      expect(cut.truncated).toBe(true);
      expect(cut.bytes.length).toBeLessThanOrEqual(64 * 1024);
    }
  });

  it('reads codings from the headers in the order they were applied', () => {
    expect(bodyCodings([['Content-Encoding', 'gzip']])).toEqual(['gzip']);
    expect(bodyCodings([['content-encoding', 'identity'], ['content-encoding', 'BR']])).toEqual(['br']);
    expect(bodyCodings([['transfer-encoding', 'gzip, chunked'], ['content-encoding', 'deflate']])).toEqual(['deflate', 'gzip']);
    expect(grpcEncodingOf([['grpc-encoding', 'gzip']])).toBe('gzip');
    expect(grpcEncodingOf([['grpc-encoding', 'identity']])).toBeUndefined();
  });
});

describe('bodies16: gRPC messages', () => {
  it('compressed messages are decoded and re-framed with flag 0 and their length; plain ones kept', () => {
    const a = Buffer.from('first message, compressed');
    const b = Buffer.from('second, plain');
    const out = decodeGrpcFrames(Buffer.concat([frame(1, gzipSync(a)), frame(0, b)]), 'gzip', false, 1 << 20)!;
    expect(out).toEqual({ bytes: Buffer.concat([frame(0, a), frame(0, b)]), truncated: false, capped: false, decoded: true });
    expect(decodeGrpcFrames(Buffer.concat([frame(1, deflateSync(a))]), 'deflate', false, 1 << 20)!.bytes).toEqual(frame(0, a));
    expect(decodeGrpcFrames(frame(0, b), 'gzip', false, 1 << 20)!.decoded).toBe(false);
    expect(decodeGrpcFrames(frame(1, gzipSync(a)), 'snappy', false, 1 << 20)).toBeUndefined();
  });

  it('a message cut by the capture ends the body, decoded as far as it goes; the output is bounded', () => {
    const big = Buffer.from('x'.repeat(5000) + 'y'.repeat(5000));
    const whole = frame(1, gzipSync(big));
    const cut = decodeGrpcFrames(whole.subarray(0, whole.length - 10), 'gzip', true, 1 << 20)!;
    expect(cut.truncated).toBe(true);
    const len = cut.bytes.readUInt32BE(1);
    expect(len).toBe(cut.bytes.length - 5);
    expect(big.subarray(0, len)).toEqual(cut.bytes.subarray(5));
    const capped = decodeGrpcFrames(Buffer.concat([whole, whole]), 'gzip', false, 3000)!;
    expect(capped.truncated).toBe(true);
    expect(capped.bytes.length).toBe(3000);
    expect(capped.bytes.readUInt32BE(1)).toBe(2995);
  });
});

describe('bodies16: redactBody decodes, then redacts', () => {
  const rules = bodyRedactionRules();
  it('a gzip JSON body reads decoded with its secret field redacted and the marker', () => {
    const found: string[] = [];
    const out = redactBody(asBody(gzipSync(text)), 'application/json', rules, (v) => found.push(v), [['content-encoding', 'gzip']]);
    expect(out.decoded).toBe('gzip');
    expect(out.encoding).toBe('utf8');
    expect(out.size).toBe(gzipSync(text).length); // the size on the wire
    expect(JSON.parse(out.data).password).toBe('[redacted]');
    expect(found).toEqual(['hunter2-very-secret']);
  });

  it('zstd and corrupt bodies stay withheld; a cut UTF-8 text loses its cut character only', () => {
    const withheld = { omitted: 'encoded', data: '' };
    expect(redactBody(asBody(text), 'application/json', rules, undefined, [['content-encoding', 'zstd']])).toMatchObject(withheld);
    expect(redactBody(asBody(Buffer.from('not gzip at all')), 'text/plain', rules, undefined, [['content-encoding', 'gzip']])).toMatchObject(withheld);
    const snow = Array.from({ length: 20000 }, (_, i) => `é${(i * 7919) % 10007}`).join('');
    const out = redactBody(asBody(gzipSync(snow)), 'text/plain', rules, undefined, [['content-encoding', 'gzip']], { cap: 1001, grpc: false });
    expect(out).toMatchObject({ truncated: true, encoding: 'utf8', decoded: 'gzip' });
    // Cut at the cap (1001 bytes), less the bytes of a character it cut.
    expect(snow.startsWith(out.data)).toBe(true);
    expect(Buffer.byteLength(out.data)).toBeGreaterThanOrEqual(1000);
    expect(Buffer.byteLength(out.data)).toBeLessThanOrEqual(1001);
  });
});
