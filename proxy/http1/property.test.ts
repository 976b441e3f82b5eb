/**
 * Property tests: random valid HTTP/1 conversations (methods, header sets, bodies, chunkings,
 * interim responses, pipelining depth), serialised and fed in random chunkings, must be
 * recovered exactly; random and mutated input must never throw and must keep the sink
 * contract (each reported exchange ends once; nothing after giveUp/upgraded).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../../tap-protocol/index.js';
import { DEFAULT_OBSERVER_LIMITS } from '../observe.js';
import { createHttp1Observer } from './index.js';
import { createRecordingSink, type ExchangeSnapshot, type Recorded } from './test-sink.js';

const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'upgrade', 'host']);

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}$/);
const nameArb = tokenArb.filter((n) => !FRAMING_NAMES.has(n.toLowerCase()));
const valueArb = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^[!-~]([ \t!-~]{0,30}[!-~])?$/),
  fc.constantFrom('caf\u00e9', '\u20ac 5', 'na\u00efve \u00fcber', '\u65e5\u672c'),
);
const owsArb = fc.constantFrom('', ' ', '  ', '\t', ' \t ');
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb, owsArb, owsArb), { maxLength: 6 });
const bodyArb = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
/** Chunk sizes used to cut a chunked body (cycled); extensions and trailers are random. */
const chunkedArb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
  ext: fc.constantFrom('', ';a=b', ';x', ' ; q="v w"'),
  upperHex: fc.boolean(),
  trailers: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 3 }),
});

interface MessageSpec {
  fields: Array<[string, string, string, string]>;
  body: Buffer;
  framing: 'length' | 'chunked' | 'implicit';
  chunked: { sizes: number[]; ext: string; upperHex: boolean; trailers: Array<[string, string]> };
}

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'X-CUSTOM'),
  path: fc.stringMatching(/^\/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,30}$/),
  host: fc.option(fc.stringMatching(/^[a-z0-9.-]{1,20}(:[0-9]{1,5})?$/), { nil: undefined }),
  minor: fc.constantFrom(0, 1),
  fields: fieldsArb,
  body: bodyArb,
  framing: fc.constantFrom('length', 'chunked', 'implicit'),
  chunked: chunkedArb,
});

const responseArb = fc.record({
  status: fc.constantFrom(200, 201, 204, 206, 304, 400, 404, 500, 503),
  interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
  fields: fieldsArb,
  body: bodyArb,
  framing: fc.constantFrom('length', 'chunked', 'implicit'),
  chunked: chunkedArb,
});

type RequestSpec = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;
type ResponseSpec = typeof responseArb extends fc.Arbitrary<infer T> ? T : never;

function serialiseFields(fields: MessageSpec['fields']): string {
  return fields.map(([n, v, a, b]) => `${n}:${a}${v}${b}\r\n`).join('');
}

/** Body framing as bytes, and the header line that announces it. */
function frameBody(m: MessageSpec, hasBody: boolean): { header: string; bytes: Buffer } {
  if (!hasBody || m.framing === 'implicit') return { header: '', bytes: hasBody ? m.body : Buffer.alloc(0) };
  if (m.framing === 'length') return { header: `Content-Length: ${m.body.length}\r\n`, bytes: m.body };
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < m.body.length; i++) {
    const n = Math.min(m.chunked.sizes[i % m.chunked.sizes.length], m.body.length - at);
    const hex = n.toString(16);
    parts.push(Buffer.from(`${m.chunked.upperHex ? hex.toUpperCase() : hex}${m.chunked.ext}\r\n`), m.body.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  const trailers = m.chunked.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  parts.push(Buffer.from(`0${m.chunked.ext}\r\n${trailers}\r\n`, 'utf8'));
  return { header: 'Transfer-Encoding: chunked\r\n', bytes: Buffer.concat(parts) };
}

interface Expected {
  head: Partial<ExchangeSnapshot>;
  requestBody: Buffer;
  responseBody: Buffer;
  requestTrailers: HeaderList;
  trailers: HeaderList;
}

function trailersOf(m: MessageSpec, hasBody: boolean): HeaderList {
  return hasBody && m.framing === 'chunked' && m.body.length >= 0 ? m.chunked.trailers.map(([n, v]) => [n, v]) : [];
}

/** Serialises a conversation; returns client/server segments per exchange and expectations. */
function build(reqs: RequestSpec[], rsps: ResponseSpec[]) {
  const client: Buffer[] = [];
  const server: Buffer[] = [];
  const expected: Expected[] = [];
  reqs.forEach((rq, i) => {
    const rs = rsps[i];
    const isLast = i === reqs.length - 1;
    // Requests need an explicit length to have a body; HTTP/1.0 has no chunked coding (RFC 9112 §6.1).
    const rqMsg: MessageSpec = { ...rq, framing: rq.framing === 'implicit' || (rq.framing === 'chunked' && rq.minor === 0) ? 'length' : rq.framing };
    const rqHasBody = rq.body.length > 0 || rqMsg.framing === 'chunked';
    const rqFrame = frameBody(rqMsg, rqHasBody);
    const hostLine = rq.host === undefined ? '' : `Host: ${rq.host}\r\n`;
    const headers: HeaderList = [];
    if (rq.host !== undefined) headers.push(['Host', rq.host]);
    for (const [n, v] of rq.fields) headers.push([n, v]);
    if (rqFrame.header !== '') headers.push(rqFrame.header.startsWith('Content') ? ['Content-Length', String(rq.body.length)] : ['Transfer-Encoding', 'chunked']);
    client.push(
      Buffer.concat([
        Buffer.from(`${rq.method} ${rq.path} HTTP/1.${rq.minor}\r\n${hostLine}${serialiseFields(rq.fields)}${rqFrame.header}\r\n`, 'utf8'),
        rqFrame.bytes,
      ]),
    );
    // Close-delimited responses only as the last one (the server closes after it).
    const rsMsg: MessageSpec = { ...rs, framing: rs.framing === 'implicit' && !isLast ? 'length' : rs.framing };
    const rsHasBody = rq.method !== 'HEAD' && rs.status !== 204 && rs.status !== 304;
    const rsFrame = frameBody(rsMsg, rsHasBody);
    const interim = rs.interim.map((s) => `HTTP/1.1 ${s} Interim\r\n\r\n`).join('');
    const rsHeaders: HeaderList = rs.fields.map(([n, v]) => [n, v]);
    if (rsFrame.header !== '') rsHeaders.push(rsFrame.header.startsWith('Content') ? ['Content-Length', String(rs.body.length)] : ['Transfer-Encoding', 'chunked']);
    server.push(
      Buffer.concat([Buffer.from(`${interim}HTTP/1.1 ${rs.status} Reason Phrase\r\n${serialiseFields(rs.fields)}${rsFrame.header}\r\n`, 'utf8'), rsFrame.bytes]),
    );
    expected.push({
      head: {
        stream: i + 1,
        method: rq.method,
        path: rq.path,
        authority: rq.host ?? '',
        protocol: rq.minor === 0 ? 'http/1.0' : 'http/1.1',
        requestHeaders: headers,
        status: rs.status,
        responseHeaders: rsHeaders,
      },
      requestBody: rqHasBody ? rq.body : Buffer.alloc(0),
      responseBody: rsHasBody ? rs.body : Buffer.alloc(0),
      requestTrailers: trailersOf(rqMsg, rqHasBody),
      trailers: trailersOf(rsMsg, rsHasBody),
    });
  });
  return { client, server, expected };
}

function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let prev = 0;
  for (const p of [...at, bytes.length]) {
    if (p > prev) pieces.push(bytes.subarray(prev, p));
    prev = p;
  }
  return pieces;
}

describe('HTTP/1 observer: properties', () => {
  it('recovers generated conversations exactly under any chunking and pipelining', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(requestArb, responseArb), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        (pairs, clientCuts, serverCuts, captureLimit, isPipelined) => {
          const { client, server, expected } = build(
            pairs.map((p) => p[0]),
            pairs.map((p) => p[1]),
          );
          const sink = createRecordingSink(captureLimit);
          let clock = 0;
          const obs = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => ++clock });
          const feed = (side: 'c' | 's', bytes: Buffer, cuts: number[]) => {
            for (const piece of cut(bytes, cuts)) {
              const view = Buffer.from(piece);
              if (side === 'c') obs.clientData(view);
              else obs.serverData(view);
              view.fill(0xee);
            }
          };
          if (isPipelined) {
            feed('c', Buffer.concat(client), clientCuts);
            feed('s', Buffer.concat(server), serverCuts);
          } else {
            client.forEach((c, i) => {
              feed('c', c, clientCuts);
              feed('s', server[i], serverCuts);
            });
          }
          obs.serverEnd();
          obs.close();
          const ends = sink.calls.flatMap((r: Recorded) => (r.call === 'end' ? [r.ex] : []));
          expect(sink.calls.filter((r) => r.call === 'giveUp')).toEqual([]);
          expect(ends).toHaveLength(expected.length);
          ends.forEach((ex, i) => {
            const e = expected[i];
            expect(ex).toMatchObject(e.head);
            expect(ex.error).toBeUndefined();
            expect(ex.requestBytes).toBe(e.requestBody.length);
            expect(ex.responseBytes).toBe(e.responseBody.length);
            expect(ex.requestTrailers).toEqual(e.requestTrailers);
            expect(ex.trailers).toEqual(e.trailers);
            for (const [got, body] of [
              [ex.requestBody, e.requestBody],
              [ex.responseBody, e.responseBody],
            ] as const) {
              expect(got).toEqual({
                size: body.length,
                captured: Math.min(body.length, captureLimit),
                truncated: body.length > captureLimit,
                data: body.subarray(0, captureLimit).toString('latin1'),
              });
            }
            expect(ex.startMs).toBeLessThanOrEqual(ex.responseMs);
            expect(ex.responseMs).toBeLessThanOrEqual(ex.endMs);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  /** The sink contract, whatever the input. */
  function checkContract(calls: Recorded[]): void {
    const state = new Map<number, string>();
    let isOver = false;
    for (const r of calls) {
      expect(isOver, 'no call after giveUp/upgraded').toBe(false);
      if (r.call === 'giveUp' || r.call === 'upgraded') {
        // 'internal' means the observer threw: a bug, whatever the input.
        if (r.call === 'giveUp') expect(r.reason).not.toBe('internal');
        isOver = true;
        continue;
      }
      const prev = state.get(r.ex.stream);
      if (r.call === 'requestHead') expect(prev).toBeUndefined();
      if (r.call === 'responseHead') expect(prev).toBe('requestHead');
      if (r.call === 'end') expect(prev === 'requestHead' || prev === 'responseHead').toBe(true);
      state.set(r.ex.stream, r.call);
    }
    // After close() every reported exchange has ended.
    for (const s of state.values()) expect(s).toBe('end');
  }

  const stepArb = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom('c', 's'), fc.uint8Array({ maxLength: 64 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('clientEnd', 'serverEnd'), fc.constant(new Uint8Array(0))) },
  );

  function drive(steps: Array<[string, Uint8Array]>): Recorded[] {
    const sink = createRecordingSink(16);
    const obs = createHttp1Observer({ sink, limits: { ...DEFAULT_OBSERVER_LIMITS, maxHeaderBytes: 256 }, now: () => 0 });
    for (const [kind, bytes] of steps) {
      if (kind === 'c') obs.clientData(Buffer.from(bytes));
      else if (kind === 's') obs.serverData(Buffer.from(bytes));
      else if (kind === 'clientEnd') obs.clientEnd();
      else obs.serverEnd();
    }
    obs.close('reset');
    return sink.calls;
  }

  it('never throws on random bytes and keeps the sink contract', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 20 }), (steps) => {
        checkContract(drive(steps));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated valid conversations and keeps the sink contract', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(requestArb, responseArb), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.constantFrom('clientEnd', 'serverEnd'),
        (pairs, mutations, cuts, finAt, finSide) => {
          const { client, server } = build(
            pairs.map((p) => p[0]),
            pairs.map((p) => p[1]),
          );
          const c = Buffer.concat(client);
          const s = Buffer.concat(server);
          for (const [at, byte] of mutations) {
            const target = at % 2 === 0 ? c : s;
            if (target.length > 0) target[at % target.length] = byte;
          }
          const cs = cut(c, cuts).map((b): [string, Uint8Array] => ['c', b]);
          const ss = cut(s, cuts).map((b): [string, Uint8Array] => ['s', b]);
          // Interleave the two directions and drop a FIN somewhere, as a real peer might.
          const steps: Array<[string, Uint8Array]> = [];
          for (let i = 0; i < Math.max(cs.length, ss.length); i++) {
            if (i < cs.length) steps.push(cs[i]);
            if (i < ss.length) steps.push(ss[i]);
            if (i === finAt) steps.push([finSide, new Uint8Array(0)]);
          }
          steps.push(['serverEnd', new Uint8Array(0)]);
          checkContract(drive(steps));
        },
      ),
      { numRuns: 300 },
    );
  });
});
