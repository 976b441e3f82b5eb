/**
 * Issue 14, where C++ HTTP/2 and gRPC streams go (native/src/core/h2-record-sink.h,
 * metrics-h2-sink.h, recorder-ring.h): the same streams, filled as proxy/h2/stream-tracker.ts
 * fills them, go (a) through the js engine's exchange sink (events, metrics, js flight recorder)
 * and (b) through the C++ sinks (H2SinkHarness: the record sink and the metrics/recorder sink,
 * teed as the engine tees them), whose records are decoded by native/index.ts and turned into
 * exchanges by proxy/native-observation.ts, whose metrics are read as /metrics reads them and
 * whose flight recorder is read by proxy/native-recorder.ts. Tap events, /metrics and history must
 * be identical. And while nobody taps, the C++ sinks
 * write no record at all: JS does no per-stream work.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNativeH2SinkHarness, decodeNativeRecords, decodeRecorderRecords, isNativeAvailable, type NativeEngine, type NativeH2ExchangeInput } from '../native/index.js';
import { createExchangeSink, type ObservationServices } from '../proxy/exchange-events.js';
import { createFlightRecorder } from '../proxy/flight-recorder.js';
import { createProxyMetrics } from '../proxy/metrics.js';
import { createNativeObservation } from '../proxy/native-observation.js';
import { createNativeFlightRecorder } from '../proxy/native-recorder.js';
import { appendBody, createExchange, DEFAULT_OBSERVER_LIMITS, type Exchange } from '../proxy/observe.js';
import { createTapHub, FLUSH_DELAY_MS } from '../proxy/tap-hub.js';
import { compileMatches, type TapEvent, type TapMessage } from '../tap-protocol/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-h2-sinks.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const WORKLOAD = { namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' };
const CONN = { id: 9, proxy: 'in' as const, src: '10.0.0.1:40000', dst: '10.0.0.2:50051' };
const BODY_LIMIT = 64;
/** 1/64 ms in ns. */
const NS_STEP = 15_625;

/** One stream as the HTTP/2 observer would report it, with its DATA chunks per direction. */
interface Stream {
  input: NativeH2ExchangeInput;
  requestChunks: Buffer[];
  responseChunks: Buffer[];
}

/** Values are the js observer's decoded text (any string); names are octets (latin1). */
const authority = fc.constantFrom('web', 'web:8080', 'u:p@svc', 'caf\xe9.local', '\u2713.local', '');
const extraField = fc.tuple(fc.constantFrom('user-agent', 'x-trace', 'authorization', 'cookie', 'x-\xe9', 'accept', 'x-long-name-' + 'n'.repeat(60)), fc.constantFrom('', 'v', 'grpc-node-js/1.12', 'Bearer abc', 'caf\xe9', '\u2713 %ZZ \\xff', 'x'.repeat(200)));
const chunks = fc.array(fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a)), { maxLength: 4 });

const stream: fc.Arbitrary<Omit<Stream, 'input'> & { input: Omit<NativeH2ExchangeInput, 'stream' | 'startNs' | 'responseNs' | 'endNs'> & { latencyNs: number; durationNs: number } }> = fc
  .record({
    isGrpc: fc.boolean(),
    method: fc.constantFrom('GET', 'POST', 'BREW'),
    authority,
    path: fc.constantFrom('/', '/users/12?x=1', '/pkg.Svc/Call', '/caf\xe9/9', 'http://u:p@x/y'),
    extra: fc.array(extraField, { maxLength: 4 }),
    status: fc.constantFrom(0, 200, 200, 404, 503),
    responseExtra: fc.array(extraField, { maxLength: 3 }),
    grpcStatus: fc.option(fc.constantFrom(0, 2, 5, 13, 14, 9_999_999_999), { nil: undefined }),
    grpcMessage: fc.option(fc.constantFrom('', 'down', 'caf\u00e9 \u2713', '\ufffd'), { nil: undefined }),
    requestTrailers: fc.array(extraField, { maxLength: 1 }),
    error: fc.option(fc.constantFrom('reset', 'goaway', 'upstream-closed', 'grpc-status-missing', 'observer-gave-up'), { nil: undefined }),
    requestChunks: chunks,
    responseChunks: chunks,
    requestCompressed: fc.boolean(),
    responseCompressed: fc.boolean(),
    messages: fc.tuple(fc.nat(5), fc.nat(5)),
    // Multiples of 1/64 ms: ms values (ns / 1e6) and their differences are then exact in both engines.
    latencyNs: fc.integer({ min: 0, max: 320_000 }).map((n) => n * NS_STEP),
    durationNs: fc.integer({ min: 0, max: 320_000 }).map((n) => n * NS_STEP),
  })
  .map((g) => {
    const requestHeaders: Array<[string, string]> = [[':method', g.method], [':scheme', 'http'], [':authority', g.authority], [':path', g.path]];
    if (g.isGrpc) requestHeaders.push(['content-type', 'application/grpc'], ['te', 'trailers']);
    requestHeaders.push(...g.extra);
    const trailers: Array<[string, string]> = [];
    if (g.isGrpc && g.grpcStatus !== undefined) trailers.push(['grpc-status', String(g.grpcStatus)]);
    if (g.isGrpc && g.grpcMessage !== undefined) trailers.push(['grpc-message', encodeURIComponent(g.grpcMessage)]);
    const requestBytes = g.requestChunks.reduce((n, c) => n + c.length, 0);
    const responseBytes = g.responseChunks.reduce((n, c) => n + c.length, 0);
    return {
      requestChunks: g.requestChunks,
      responseChunks: g.status === 0 ? [] : g.responseChunks,
      input: {
        isGrpc: g.isGrpc,
        method: g.method,
        scheme: 'http',
        authority: g.authority,
        path: g.path,
        requestHeaders,
        requestTrailers: g.requestTrailers,
        status: g.status,
        responseHeaders: g.status === 0 ? [] : [[':status', String(g.status)], ...g.responseExtra],
        trailers: g.status === 0 ? [] : trailers,
        ...(g.isGrpc && g.grpcStatus !== undefined ? { grpcStatus: g.grpcStatus } : {}),
        ...(g.isGrpc && g.grpcMessage !== undefined ? { grpcMessage: g.grpcMessage } : {}),
        requestBytes,
        responseBytes: g.status === 0 ? 0 : responseBytes,
        requestMessages: g.isGrpc ? g.messages[0] : 0,
        responseMessages: g.isGrpc ? g.messages[1] : 0,
        requestCompressed: g.isGrpc && g.requestCompressed,
        responseCompressed: g.isGrpc && g.responseCompressed,
        ...(g.error !== undefined ? { error: g.error } : {}),
        latencyNs: g.latencyNs,
        durationNs: g.durationNs,
      },
    } as const;
  });

/** A tap hub with one reading subscriber (bodies or not) whose events are kept. */
function tappedHub(bodies: boolean): { hub: ReturnType<typeof createTapHub>; events: TapEvent[] } {
  const hub = createTapHub();
  const events: TapEvent[] = [];
  const sub = hub.subscribe({
    match: compileMatches([]),
    bodies,
    reveal: 'all',
    writer: {
      write: (batch, sent) => {
        for (const m of JSON.parse(batch) as TapMessage[]) if (m.type === 'event') events.push(m.event);
        sent();
      },
    },
  });
  sub.live = true;
  return { hub, events };
}

const exposition = async (text: Promise<string>): Promise<string> =>
  (await text)
    .split('\n')
    .filter((l) => !l.startsWith('meshtap_start_time_seconds') && !l.startsWith('meshtap_body_capture_bytes_total'))
    .sort()
    .join('\n');

describe.skipIf(!available)('C++ HTTP/2 sinks: tap records, metrics and flight recorder', () => {
  it('give the js engine events, /metrics and history for the same streams', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stream, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), async (generated, tapBodies, recorderBodies) => {
        // (a) the js engine: its exchange sink, as its HTTP/2 observer calls it.
        const jsTap = tappedHub(tapBodies);
        const js: ObservationServices = { identity: { workload: 'deploy/web', namespace: 'shop' }, metrics: createProxyMetrics(WORKLOAD), recorder: createFlightRecorder(1 << 22), hub: jsTap.hub, bodyLimit: BODY_LIMIT, recorderBodies };
        const sink = createExchangeSink(CONN, js, { onGiveUp() {}, onUpgrade() {} });
        // (b) the C++ sinks, their records handed to the native engine's JS observation.
        const nativeTap = tappedHub(tapBodies);
        const native: ObservationServices = { ...js, metrics: createProxyMetrics(WORKLOAD), recorder: createFlightRecorder(1 << 22), hub: nativeTap.hub };
        const harness = createNativeH2SinkHarness({ connId: CONN.id, inbound: true, src: CONN.src, dst: CONN.dst, bodyLimit: BODY_LIMIT, recorderBodies });
        harness.setTapped(true);
        harness.setWantBodies(tapBodies || recorderBodies);

        let ns = 64_000 * NS_STEP;
        generated.forEach((g, i) => {
          const { latencyNs, durationNs, ...fields } = g.input;
          const input: NativeH2ExchangeInput = { ...fields, stream: 2 * i + 1, startNs: ns, responseNs: ns + latencyNs, endNs: ns + latencyNs + durationNs };
          ns = input.endNs + NS_STEP;
          const ex: Exchange = createExchange(input.stream, input.isGrpc ? 'grpc' : 'h2', input.startNs / 1e6);
          Object.assign(ex, { method: input.method, scheme: input.scheme, authority: input.authority, path: input.path, requestHeaders: input.requestHeaders });
          sink.requestHead(ex);
          const capture = harness.requestHead(input);
          for (const c of g.requestChunks) {
            if (ex.requestBody) appendBody(ex.requestBody, c);
            if (capture) harness.body(input.stream, true, c);
          }
          if (input.status !== 0) {
            Object.assign(ex, { status: input.status, responseHeaders: input.responseHeaders, responseMs: input.responseNs / 1e6 });
            sink.responseHead(ex);
            harness.responseHead(input);
            for (const c of g.responseChunks) {
              if (ex.responseBody) appendBody(ex.responseBody, c);
              if (capture) harness.body(input.stream, false, c);
            }
          }
          Object.assign(ex, {
            requestTrailers: input.requestTrailers, trailers: input.trailers, requestBytes: input.requestBytes, responseBytes: input.responseBytes,
            endMs: input.endNs / 1e6,
            ...(input.isGrpc ? { requestMessages: input.requestMessages, responseMessages: input.responseMessages, requestCompressed: input.requestCompressed, responseCompressed: input.responseCompressed } : {}),
            ...(input.grpcStatus !== undefined ? { grpcStatus: input.grpcStatus } : {}),
            ...(input.grpcMessage !== undefined ? { grpcMessage: input.grpcMessage } : {}),
            ...(input.error !== undefined ? { error: input.error } : {}),
          });
          sink.end(ex);
          harness.end(input);
        });

        const observation = createNativeObservation(native, { detectTimeoutMs: 1000, limits: DEFAULT_OBSERVER_LIMITS }, () => {});
        observation.open(CONN.id, CONN.proxy, CONN.src, CONN.dst, 0);
        observation.detected(CONN.id, 'h2-native', '', 0);
        const batch = harness.drain();
        expect(batch).toBeDefined();
        decodeNativeRecords(batch!, 0, Infinity, 0, { ...observation, connectError() {}, boundHit() {} });

        // Tap events (the hub writes what gathered at most FLUSH_DELAY_MS later): the same, in the same order.
        await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));
        expect(nativeTap.events).toEqual(jsTap.events);

        // /metrics: the C++ metrics read as the native engine's scrape source.
        const fromNative = createProxyMetrics(WORKLOAD);
        fromNative.setHttpSource(() => harness.httpMetrics());
        expect(await exposition(fromNative.registry.metrics())).toBe(await exposition(js.metrics.registry.metrics()));

        // History: the C++ recorder read through the native engine's recorder face.
        const engine = { recorderQuery: () => decodeRecorderRecords(harness.recorderQuery(0), 0), recorderStats: () => ({ ...harness.recorderStats(), oldestEndMs: undefined }) } as unknown as NativeEngine;
        const history = createNativeFlightRecorder(native.recorder, () => engine, native);
        expect(history.query({})).toEqual(js.recorder.query({}));
        expect(history.query({ last: 2 })).toEqual(js.recorder.query({ last: 2 }));
      }),
      { numRuns: 150 },
    );
  });

  it('write no record while nobody taps, and decide per stream at its request head', () => {
    const harness = createNativeH2SinkHarness({ connId: 1, inbound: false, src: '10.0.0.1:1', dst: '10.0.0.2:80' });
    const base = { isGrpc: false, method: 'GET', scheme: 'http', authority: 'web', path: '/', requestHeaders: [[':method', 'GET'], [':path', '/']] as Array<[string, string]>, requestTrailers: [], status: 200, responseHeaders: [[':status', '200']] as Array<[string, string]>, trailers: [], requestBytes: 0, responseBytes: 2, requestMessages: 0, responseMessages: 0, requestCompressed: false, responseCompressed: false, startNs: 1, responseNs: 2, endNs: 3 };
    for (let s = 1; s < 40; s += 2) {
      harness.requestHead({ ...base, stream: s });
      harness.responseHead({ ...base, stream: s });
      harness.end({ ...base, stream: s });
    }
    expect(harness.drain()).toBeUndefined();
    // A stream begun untapped stays untapped; one begun tapped is followed to its end.
    harness.requestHead({ ...base, stream: 41 });
    harness.setTapped(true);
    harness.requestHead({ ...base, stream: 43 });
    harness.setTapped(false);
    for (const s of [41, 43]) {
      harness.responseHead({ ...base, stream: s });
      harness.end({ ...base, stream: s });
    }
    const kinds: string[] = [];
    const count = (name: string) => (id: number, stream: number) => void kinds.push(`${name} ${stream}`);
    decodeNativeRecords(harness.drain()!, 0, Infinity, 0, { h2RequestHead: count('req'), h2ResponseHead: count('rsp'), h2End: count('end') } as unknown as Parameters<typeof decodeNativeRecords>[4]);
    expect(kinds).toEqual(['req 43', 'rsp 43', 'end 43']);
    // Every stream is in the C++ metrics and recorder all the same.
    expect(harness.httpMetrics().routes[0]!.requests).toBe(22);
    expect(harness.recorderStats().count).toBe(22);
  });
});
