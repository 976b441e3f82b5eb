/**
 * The native engine's records as the JS thread turns them into tap events, without traffic:
 * records encoded as the C++ sinks write them (native/src/core/event-ring.h), decoded by
 * decodeNativeRecords into createNativeObservation, a real tap hub and one subscriber. What this
 * holds: heads and header blocks that repeat (a client's calls, a server's answers within the
 * second of its Date) are parsed once and shared, and each exchange still shows its own; a head
 * the js parser refuses is refused every time, whatever was parsed before.
 */
import { describe, expect, it } from 'vitest';
import { decodeNativeRecords, type NativeRecordHandler } from '../native/index.js';
import { compileMatches, DEFAULT_SENSITIVE_HEADERS, type TapEvent } from '../tap-protocol/index.js';
import { bodyRedactionRules } from './body-redact.js';
import { createFlightRecorder } from './flight-recorder.js';
import { createProxyMetrics } from './metrics.js';
import { createNativeObservation } from './native-observation.js';
import { createTapHub } from './tap-hub.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => Buffer.concat([u32(n % 4294967296), u32(Math.floor(n / 4294967296))]);
const str = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const fields = (list: Array<[string, string]>) =>
  Buffer.concat([u32(list.length), ...list.flatMap(([n, v]) => [u32(Buffer.byteLength(n, 'latin1')), u32(Buffer.byteLength(v)), Buffer.from(n, 'latin1'), Buffer.from(v)])]);

let clockNs = 1e9;
/** One record (event-ring.h layout: 24-byte header, payload padded to 8). */
function rec(type: number, code: number, conn: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(24 + ((payload.length + 7) & ~7));
  b[0] = type;
  b[1] = code;
  b.writeUInt32LE(conn, 4);
  b.writeUInt32LE(payload.length, 8);
  clockNs += 1000;
  b.writeUInt32LE(clockNs % 4294967296, 16);
  b.writeUInt32LE(Math.floor(clockNs / 4294967296), 20);
  payload.copy(b, 24);
  return b;
}

const h1Exchange = (conn: number, stream: number, requestHead: string, responseHead: string) => [
  rec(11, 0, conn, Buffer.concat([u32(stream), Buffer.from(requestHead, 'latin1')])),
  rec(12, 0, conn, Buffer.concat([u32(stream), Buffer.from(responseHead, 'latin1')])),
  rec(14, 0, conn, Buffer.concat([u32(stream), u32(0), u32(0), u32(0), u64(0), u64(0)])),
];

const h2Exchange = (conn: number, stream: number, path: string, request: Array<[string, string]>, response: Array<[string, string]>, trailers: Array<[string, string]>) => [
  rec(18, 2, conn, Buffer.concat([u32(stream), str('POST'), str('http'), str('svc'), str(path), fields(request)])),
  rec(19, 0, conn, Buffer.concat([u32(stream), u32(200), fields(response)])),
  rec(20, 0, conn, Buffer.concat([u32(stream), u32(1), u64(0), u32(1), u32(1), u64(10), u64(10), str(''), str(''), fields([]), fields(trailers)])),
];

/** Feeds records through the JS half of the native engine; returns the `end` events a --bodies tap was given, and the connections it stopped following. */
async function observe(setup: (h: NativeRecordHandler) => void, records: Buffer[]): Promise<{ ends: TapEvent[]; unobserved: number[] }> {
  const hub = createTapHub({ sensitiveHeaders: [...DEFAULT_SENSITIVE_HEADERS], bodyRedaction: bodyRedactionRules([]) });
  const events: TapEvent[] = [];
  const sub = hub.subscribe({
    match: compileMatches([]),
    bodies: true,
    reveal: new Set(),
    writer: {
      write(batch, sent) {
        for (const m of JSON.parse(batch) as Array<{ type: string; event?: TapEvent }>) if (m.event) events.push(m.event);
        sent();
      },
    },
  });
  sub.live = true;
  const unobserved: number[] = [];
  const obs = createNativeObservation(
    {
      identity: { namespace: 'shop', pod: 'web-1' },
      metrics: createProxyMetrics({ namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' }),
      recorder: createFlightRecorder(1 << 20),
      hub,
      bodyLimit: 1024,
      recorderBodies: false,
    },
    {} as Parameters<typeof createNativeObservation>[1],
    (id) => unobserved.push(id),
  );
  const h: NativeRecordHandler = { ...obs, connectError() {}, boundHit() {} };
  setup(h);
  decodeNativeRecords(Buffer.concat(records), 0, Infinity, 0, h);
  await new Promise((r) => setTimeout(r, 60)); // the hub's flush
  return { ends: events.filter((e) => e.kind === 'end'), unobserved };
}

describe('native records into tap events', () => {
  it('HTTP/1: a repeated head is parsed once, and every exchange still shows its own heads', async () => {
    const req = 'GET /a HTTP/1.1\r\nHost: web\r\nUser-Agent: t\r\n\r\n';
    const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Which: first\r\n\r\n';
    // Heads of the same length as those before them, differing in one byte.
    const missing = 'HTTP/1.1 404 NF\r\nContent-Length: 0\r\nX-Which: other\r\n\r\n';
    const records = [
      ...h1Exchange(1, 1, req, ok),
      ...h1Exchange(2, 1, req, missing),
      ...h1Exchange(1, 2, 'POST /b HTTP/1.1\r\nHost: web\r\nContent-Length: 0\r\n\r\n', ok),
      ...h1Exchange(2, 2, req, ok),
      ...h1Exchange(1, 3, req.replace('/a', '/z'), ok),
      // Refused by the js parser (obs-fold), after a good head was parsed, on two connections: both refused.
      ...h1Exchange(3, 1, 'GET /c HTTP/1.1\r\nHost: web\r\nX-Folded: a\r\n b\r\n\r\n', ok),
      ...h1Exchange(4, 1, 'GET /c HTTP/1.1\r\nHost: web\r\nX-Folded: a\r\n b\r\n\r\n', ok),
    ];
    const { ends, unobserved } = await observe((h) => {
      for (const id of [1, 2, 3, 4]) {
        h.open(id, 'in', `10.0.0.${id}:5000`, '10.0.0.9:80', 0);
        h.detected(id, 'h1', '', 0);
      }
    }, records);
    const seen = ends.map((e) => [e.id, e.method, e.path, e.status, e.requestHeaders, e.responseHeaders]);
    expect(seen).toEqual([
      ['1.1', 'GET', '/a', 200, [['Host', 'web'], ['User-Agent', 't']], [['Content-Length', '0'], ['X-Which', 'first']]],
      ['2.1', 'GET', '/a', 404, [['Host', 'web'], ['User-Agent', 't']], [['Content-Length', '0'], ['X-Which', 'other']]],
      ['1.2', 'POST', '/b', 200, [['Host', 'web'], ['Content-Length', '0']], [['Content-Length', '0'], ['X-Which', 'first']]],
      ['2.2', 'GET', '/a', 200, [['Host', 'web'], ['User-Agent', 't']], [['Content-Length', '0'], ['X-Which', 'first']]],
      ['1.3', 'GET', '/z', 200, [['Host', 'web'], ['User-Agent', 't']], [['Content-Length', '0'], ['X-Which', 'first']]],
    ]);
    expect(unobserved).toEqual([3, 4]);
  });

  it('HTTP/2: repeated header blocks give each stream its own lists, past the bound of blocks kept', async () => {
    const request = (i: number): Array<[string, string]> => [[':method', 'POST'], [':path', `/pkg.Svc/M${i}`], ['content-type', 'application/grpc'], ['x-n', String(i)]];
    const response: Array<[string, string]> = [[':status', '200'], ['content-type', 'application/grpc']];
    const records: Buffer[] = [];
    const expected: unknown[] = [];
    let stream = 1;
    // 100 distinct blocks (more than are kept), then the first ten again, interleaved with a
    // non-ASCII block (decoded field by field) that must not be confused with its ASCII neighbours.
    for (const i of [...Array.from({ length: 100 }, (_, k) => k), ...Array.from({ length: 10 }, (_, k) => k)]) {
      const trailers: Array<[string, string]> = i % 3 === 0 ? [['grpc-status', '0'], ['grpc-message', 'caf\u00e9']] : [['grpc-status', String(i % 17)]];
      records.push(...h2Exchange(1, stream, `/pkg.Svc/M${i}`, request(i), response, trailers));
      expected.push([`1.${stream}`, `/pkg.Svc/M${i}`, request(i), response, trailers]);
      stream += 2;
    }
    const { ends } = await observe((h) => {
      h.open(1, 'in', '10.0.0.1:5000', '10.0.0.9:80', 0);
      h.detected(1, 'h2-native', '', 0);
    }, records);
    expect(ends.map((e) => [e.id, e.path, e.requestHeaders, e.responseHeaders, e.trailers])).toEqual(expected);
  });
});
