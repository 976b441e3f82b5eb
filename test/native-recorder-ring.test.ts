/**
 * The native engine's flight recorder ring (native/src/core/recorder-ring.cc), fed without
 * traffic: exchanges come back exactly as pushed (heads byte for byte, whatever their shape),
 * the ring never holds more than its bytes, evicts oldest first and counts it, refuses (and
 * counts) an exchange larger than itself, and answers `since` by end time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable, loadNativeMetricsTools, type NativeRecorderInput } from '../native/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-recorder-ring.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const CURL_REQUEST = 'GET /users/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 08:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 11\r\n\r\n';

function exchange(stream: number, over: Partial<NativeRecorderInput> = {}): NativeRecorderInput {
  const startNs = 5_000_000_000 + stream * 1_000_000;
  return {
    connId: 7, stream, inbound: true, isHttp10: false, src: '10.0.0.1:40000', dst: '10.0.0.2:8080',
    startNs, responseNs: startNs + 250_000, endNs: startNs + 300_000, status: 200,
    requestHead: CURL_REQUEST, responseHead: RESPONSE, requestTrailers: '', trailers: '', requestBytes: 0, responseBytes: 11,
    ...over,
  };
}

const HEAD_PIECES = ['GET / HTTP/1.1', '\r\n', '\r\n', 'Host: a', 'X-Long-' + 'n'.repeat(70) + ': v', 'a:b', ': x', 'Name:  two spaces ', '\n', 'caf\xe9: \xff', ':', ' ', 'Set-Cookie: k=v', 'x'];
// Shapes the packed forms (recorder-ring.h) take or must refuse: request lines, hex runs, dates.
const PACKED_PIECES = [
  'GET /a?b=1 HTTP/1.1', 'GET /a b HTTP/1.0', 'GET  HTTP/1.1', 'GET / HTTP/1.2', ' / HTTP/1.1', 'GET / HTTP/1.1 ', 'M-SEARCH * HTTP/1.1',
  'X-Request-Id: 0af76519-16cd-43dd-8448-eb211c80319c', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'X-Id: 0123456789abcde', 'X-Id: 0123456789abcdef0', 'X-Id: -0123456789abcdef', 'X-Id: 0123456789abcdef-', 'X-Id: 01234567--89abcdef',
  'X-Id: 0123456789ABCDEF', 'X-Id: ' + '1-'.repeat(20) + '1', 'X-Id: ' + 'f'.repeat(700),
  'Date: Sun, 06 Dec 2026 08:00:00 GMT', 'Date: Mon, 06 Dec 2026 08:00:00 GMT', 'Date: Thu, 01 Jan 1970 00:00:00 GMT', 'Date: Wed, 31 Dec 1969 23:59:59 GMT',
  'Date: Sun, 29 Feb 2032 23:59:59 GMT', 'Date: Fri, 29 Feb 2030 00:00:00 GMT', 'Date: Fri, 31 Dec 9999 23:59:59 GMT', 'Date: Sun, 06 Dec 2026 24:00:00 GMT',
  'Date: Sun, 6 Dec 2026 08:00:00 GMT', 'Date: Sun, 06 dec 2026 08:00:00 GMT', 'Date: Sun, 06 Dec 2026 08:00:00 UTC', 'Expires: Sun, 06 Dec 2026 08:00:00 GMT',
];
const head = fc
  .array(fc.oneof(fc.constantFrom(...HEAD_PIECES), fc.constantFrom(...PACKED_PIECES)), { maxLength: 12 })
  .map((p) => p.join(''));
const ADDRESSES = ['10.0.0.1:40000', '10.0.0.2:8080', '[::1]:8080', '[fd00::1]:0', 'unknown:0', 'host:0080', 'x', ':80', 'h:99999', 'h:', 'a:b:c', '10.0.0.1:65535', ''];

describe.skipIf(!available)('C++ flight recorder ring', () => {
  const tools = available ? loadNativeMetricsTools() : undefined!;

  it('gives back every field as pushed, heads byte for byte', () => {
    const r = tools.createRecorder(1 << 20);
    fc.assert(
      fc.property(head, head, head, fc.constantFrom(0, 200, 503), fc.option(fc.constantFrom('reset', 'upstream-closed'), { nil: undefined }), fc.boolean(), fc.constantFrom(...ADDRESSES), fc.constantFrom(...ADDRESSES), (rq, rs, tr, status, error, withBodies, src, dst) => {
        const input = exchange(1, {
          src, dst,
          requestHead: rq, responseHead: status ? rs : '', trailers: tr, status, isHttp10: withBodies, inbound: !withBodies,
          ...(error ? { error } : {}),
          ...(withBodies ? { bodies: [{ data: Buffer.from('{"a":1}'), size: 7, truncated: false }, { data: Buffer.from([0, 255, 1]), size: 9000, truncated: true }] } : {}),
        });
        r.push(input);
        const list = r.query();
        const got = list.get(list.length - 1);
        expect(got).toMatchObject({
          connId: 7, stream: 1, proxy: withBodies ? 'out' : 'in', isHttp10: withBodies, src: input.src, dst: input.dst, status,
          requestHead: rq, responseHead: status ? rs : '', trailers: tr, requestTrailers: '', requestBytes: 0, responseBytes: 11,
        });
        expect(got.error).toBe(error);
        expect(got.endMs).toBeCloseTo(input.endNs / 1e6, 6);
        expect(got.startMs).toBeCloseTo(input.startNs / 1e6, 6);
        if (status) expect(got.responseMs).toBeCloseTo(input.responseNs / 1e6, 6);
        expect(got.bodies).toEqual(input.bodies);
      }),
      { numRuns: 1500 },
    );
  });

  it('packs a small curl exchange (3 request, 5 response headers) in under 256 bytes', () => {
    const r = tools.createRecorder(1 << 20);
    for (let i = 1; i <= 100; i++) r.push(exchange(i));
    expect(r.stats().count).toBe(100);
    expect(r.stats().bytes / 100).toBeLessThan(256);
  });

  it('interns a repeated header line even after thousands of repeated request lines (they get at most half the slots)', () => {
    const r = tools.createRecorder(16 << 20);
    // Each request line twice: interned on its second sight, as long as request lines may take slots.
    for (let i = 0; i < 4200; i++) for (let k = 0; k < 2; k++) r.push(exchange(i + 1, { requestHead: `GET /orders/${i} HTTP/1.1\r\nHost: a\r\n\r\n` }));
    const line = `X-Tenant: ${'t'.repeat(120)}`;
    const sizes: number[] = [];
    for (let k = 0; k < 3; k++) {
      const before = r.stats().bytes;
      r.push(exchange(9000 + k, { requestHead: `GET /x HTTP/1.1\r\n${line}\r\n\r\n` }));
      sizes.push(r.stats().bytes - before);
    }
    // First sight literal, second interned: the line's 130 bytes become an index.
    expect(sizes[0]! - sizes[2]!).toBeGreaterThan(100);
    const list = r.query();
    expect(list.get(list.length - 1).requestHead).toBe(`GET /x HTTP/1.1\r\n${line}\r\n\r\n`);
  });

  it('never interns a credential line (the dictionaries outlive the records; a secret must not)', () => {
    const r = tools.createRecorder(1 << 20);
    // Warm up: addresses, request line and response lines interned, so only the line under test differs.
    for (let k = 0; k < 3; k++) r.push(exchange(k + 1, { requestHead: 'GET / HTTP/1.1\r\n\r\n' }));
    const sizes: number[] = [];
    for (const line of ['Authorization: Bearer s3cr3t-token-0123456789abcdef', 'cookie: sid=s3cr3t0123456789abcdef', 'X-Plain: not-a-secret-0123456789abcdef']) {
      const each: number[] = [];
      for (let k = 0; k < 3; k++) {
        const before = r.stats().bytes;
        r.push(exchange(k + 1, { requestHead: `GET / HTTP/1.1\r\n${line}\r\n\r\n` }));
        each.push(r.stats().bytes - before);
      }
      sizes.push(each[0]! - each[2]!);
    }
    // A credential line costs the same every time (kept as name + value); a plain one seen twice becomes an index.
    expect(sizes[0]).toBeLessThan(4);
    expect(sizes[1]).toBeLessThan(4);
    expect(sizes[2]).toBeGreaterThan(20);
  });

  it('stays within its bytes, evicting the oldest first and counting them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 600, max: 8192 }), fc.array(fc.nat(900), { minLength: 1, maxLength: 300 }), (maxBytes, pads) => {
        const r = tools.createRecorder(maxBytes);
        pads.forEach((pad, i) => r.push(exchange(i + 1, { requestHead: CURL_REQUEST + 'x'.repeat(pad) })));
        const s = r.stats();
        expect(s.bytes).toBeLessThanOrEqual(maxBytes);
        expect(s.count + s.evicted).toBe(pads.length);
        const list = r.query();
        const held = Array.from({ length: list.length }, (_, i) => list.get(i).stream);
        expect(held.length).toBe(s.count);
        // The newest ones, in order (an exchange larger than the ring is refused, not kept). A
        // record's size depends on what the dictionaries learnt before it (a line seen twice is
        // interned), so each size is read from a twin ring large enough to keep everything.
        const twin = tools.createRecorder(1 << 20);
        const fits = pads
          .map((pad, i) => {
            const before = twin.stats().bytes;
            twin.push(exchange(i + 1, { requestHead: CURL_REQUEST + 'x'.repeat(pad) }));
            return { stream: i + 1, size: twin.stats().bytes - before };
          })
          .filter((x) => x.size <= maxBytes);
        if (held.length > 0) expect(held).toEqual(fits.slice(fits.length - held.length).map((x) => x.stream));
        if (held.length > 0) expect(s.oldestEndNs).toBe(exchange(held[0]!).endNs);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an exchange larger than the whole ring, and counts it', () => {
    const r = tools.createRecorder(300);
    r.push(exchange(1, { requestHead: CURL_REQUEST + 'x'.repeat(400) }));
    expect(r.stats()).toMatchObject({ bytes: 0, count: 0, evicted: 1 });
  });

  it('answers since by end time', () => {
    const r = tools.createRecorder(1 << 20);
    for (let i = 1; i <= 10; i++) r.push(exchange(i));
    const list = r.query(exchange(7).endNs);
    expect(Array.from({ length: list.length }, (_, i) => list.get(i).stream)).toEqual([7, 8, 9, 10]);
  });
});
