/**
 * Issue 14, the firehose tap: C++ writes an HTTP/2 or gRPC stream's plain tap events as JSON
 * (native/src/core/tap-event-json.h) and the tap hub queues that text for subscribers that take
 * every event (proxy/tap-hub.ts publishText) instead of making, shaping and serializing the event.
 * What a subscriber receives must not change by a byte: the same generated streams (secrets in
 * headers, query strings and bodies, URL credentials, escapes, non-ASCII, truncated and binary
 * bodies, gRPC trailers, errors, any clock value) go through the C++ sinks twice, with JSON and
 * without, into two hubs with the same subscribers (grants with and without bodies, revealing
 * nothing, a header or everything, ends-only, and sometimes a filtered one, which sends every
 * event down the object path), and every subscriber's stream of messages must be identical.
 * HTTP/1 likewise, as bytes through one connection's C++ observation (detection, llhttp, the
 * record sink): heads with secrets, credentials, absolute-form targets, non-ASCII octets, chunked
 * bodies with trailers, HTTP/1.0.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNativeDriverHarness, createNativeH2SinkHarness, decodeNativeRecords, isNativeAvailable, type NativeH2ExchangeInput, type NativeRecordHandler } from '../native/index.js';
import type { ObservationServices } from '../proxy/exchange-events.js';
import { createFlightRecorder } from '../proxy/flight-recorder.js';
import { createProxyMetrics } from '../proxy/metrics.js';
import { createNativeObservation } from '../proxy/native-observation.js';
import { DEFAULT_OBSERVER_LIMITS } from '../proxy/observe.js';
import { createTapHub, FLUSH_DELAY_MS, type SubscriberOptions } from '../proxy/tap-hub.js';
import { compileMatches } from '../tap-protocol/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-tap-json.property.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const WORKLOAD = { namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' };
const BODY_LIMIT = 48;

type Field = [string, string];

/** Header values: mostly plain (the fast path), some with what any redaction rule acts on. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', 'v', 'grpc-node-js/1.12', 'application/grpc', 'text/plain; charset=utf-8', 'x'.repeat(120)) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.constantFrom('Bearer abcdefgh', 'http://u:pw@host/x', '/x?token=abcdefgh', '/x%3Ftoken%3Dabcdefgh', 'caf\xe9', '\u2713 ok', 'a"b\\c\u0001\u007f', 'abcdefgh') },
);
const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('user-agent', 'x-trace', 'accept', 'x-request-id', 'content-length') },
  { weight: 2, arbitrary: fc.constantFrom('authorization', 'Cookie', 'set-cookie', 'x-api-key', 'grpc-message', 'x-\xe9', 'X-Auth-Token') },
);
const field: fc.Arbitrary<Field> = fc.tuple(name, value);
const bodyChunk = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('hello', '{"name":"x","n":12}', 'ok\n', 'a"b\\c\t', '\u0000\u0001\u0005hi') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom('{"password":"hunter22"}', 'token=abcdefgh&x=1', '4111 1111 1111 1111', 'x%41y', 'a+b', 'caf\xe9', '\u2713') },
).map((s) => Buffer.from(s, 'utf8'));
const binaryChunk = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const chunks = fc.array(fc.oneof({ weight: 3, arbitrary: bodyChunk }, { weight: 1, arbitrary: binaryChunk }), { maxLength: 3 });

interface Generated {
  input: Omit<NativeH2ExchangeInput, 'stream'>;
  requestChunks: Buffer[];
  responseChunks: Buffer[];
}

/** Any clock reading up to ~12 days of uptime: the times and their differences as doubles, as they come. */
const ns = fc.integer({ min: 0, max: 2 ** 50 });

const stream: fc.Arbitrary<Generated> = fc
  .record({
    isGrpc: fc.boolean(),
    method: fc.constantFrom('GET', 'POST', 'BREW'),
    authority: fc.constantFrom('web', 'web:8080', 'u:p@svc', 'caf\xe9.local', ''),
    path: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('/', '/pkg.Svc/Call', '/users/12') }, { weight: 1, arbitrary: fc.constantFrom('/x?a=1', '/x?token=abcdefgh', 'http://u:p@x/y', '/caf\xe9', '/a"b') }),
    extra: fc.array(field, { maxLength: 4 }),
    status: fc.constantFrom(0, 200, 200, 200, 404, 503),
    responseExtra: fc.array(field, { maxLength: 3 }),
    grpcStatus: fc.option(fc.constantFrom(0, 2, 13, 9_999_999_999), { nil: undefined }),
    grpcMessage: fc.option(fc.constantFrom('', 'down', 'caf\u00e9', 'a"b'), { nil: undefined }),
    requestTrailers: fc.array(field, { maxLength: 1 }),
    error: fc.option(fc.constantFrom('reset', 'goaway', 'grpc-status-missing'), { nil: undefined }),
    // A stream the server never processed (unproc13): marked beside its error.
    unprocessed: fc.option(fc.constantFrom('refused' as const, 'goaway' as const), { nil: undefined }),
    requestChunks: chunks,
    responseChunks: chunks,
    messages: fc.tuple(fc.nat(5), fc.nat(5)),
    startNs: ns,
    latencyNs: ns,
    durationNs: ns,
  })
  .map((g) => {
    const requestHeaders: Field[] = [[':method', g.method], [':scheme', 'http'], [':authority', g.authority], [':path', g.path]];
    if (g.isGrpc) requestHeaders.push(['content-type', 'application/grpc'], ['te', 'trailers']);
    requestHeaders.push(...g.extra);
    const trailers: Field[] = [];
    if (g.isGrpc && g.grpcStatus !== undefined) trailers.push(['grpc-status', String(g.grpcStatus)]);
    if (g.isGrpc && g.grpcMessage !== undefined) trailers.push(['grpc-message', encodeURIComponent(g.grpcMessage)]);
    const responseChunks = g.status === 0 ? [] : g.responseChunks;
    return {
      requestChunks: g.requestChunks,
      responseChunks,
      input: {
        isGrpc: g.isGrpc,
        method: g.method,
        scheme: 'http',
        authority: g.authority,
        path: g.path,
        requestHeaders,
        requestTrailers: g.requestTrailers,
        status: g.status,
        responseHeaders: g.status === 0 ? [] : ([[':status', String(g.status)], ...g.responseExtra] as Field[]),
        trailers: g.status === 0 ? [] : trailers,
        ...(g.isGrpc && g.grpcStatus !== undefined ? { grpcStatus: g.grpcStatus } : {}),
        ...(g.isGrpc && g.grpcMessage !== undefined ? { grpcMessage: g.grpcMessage } : {}),
        requestBytes: g.requestChunks.reduce((n, c) => n + c.length, 0),
        responseBytes: responseChunks.reduce((n, c) => n + c.length, 0),
        requestMessages: g.isGrpc ? g.messages[0] : 0,
        responseMessages: g.isGrpc ? g.messages[1] : 0,
        requestCompressed: false,
        responseCompressed: false,
        ...(g.error !== undefined ? { error: g.error } : {}),
        ...(g.error !== undefined && g.unprocessed !== undefined ? { unprocessed: g.unprocessed } : {}),
        startNs: g.startNs,
        responseNs: g.startNs + g.latencyNs,
        endNs: g.startNs + g.latencyNs + g.durationNs,
      },
    };
  });

type Grant = Pick<SubscriberOptions, 'bodies' | 'reveal' | 'endsOnly'> & { filtered?: boolean };
const GRANTS: Grant[] = [
  { bodies: true, reveal: new Set() },
  { bodies: false, reveal: new Set() },
  { bodies: true, reveal: new Set(['authorization', 'cookie']) },
  { bodies: true, reveal: 'all' },
  { bodies: true, reveal: new Set(), endsOnly: true },
  { bodies: false, reveal: 'all', endsOnly: true },
];
const FILTERED: Grant = { bodies: true, reveal: new Set(), filtered: true };

/** A hub with one reading subscriber per grant; each subscriber's messages as one text (its batches' parts joined). */
function tappedHub(grants: Grant[]) {
  const hub = createTapHub();
  const texts = grants.map(() => [] as string[]);
  grants.forEach((g, i) => {
    const sub = hub.subscribe({
      match: compileMatches(g.filtered ? [[{ field: 'header', name: 'user-agent', value: 'v', negate: true }]] : []),
      bodies: g.bodies,
      reveal: g.reveal,
      ...(g.endsOnly ? { endsOnly: true } : {}),
      writer: {
        write: (batch, sent) => {
          texts[i]!.push(batch.slice(1, -1));
          sent();
        },
      },
    });
    sub.live = true;
  });
  return { hub, received: () => texts.map((t) => t.join(',')) };
}

interface Run {
  received: string[];
  jsonEvents: number;
}

/** The streams through the C++ sinks (JSON on or off), their records through the native engine's JS observation into a hub. */
async function run(generated: Generated[], grants: Grant[], json: boolean, wantBodies: boolean, connId: number, inbound: boolean): Promise<Run> {
  const tap = tappedHub(grants);
  const services: ObservationServices = {
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
    metrics: createProxyMetrics(WORKLOAD),
    recorder: createFlightRecorder(1 << 22),
    hub: tap.hub,
    bodyLimit: BODY_LIMIT,
    recorderBodies: false,
  };
  const src = '10.0.0.1:40000';
  const dst = '10.0.0.2:50051';
  const harness = createNativeH2SinkHarness({ connId, inbound, src, dst, bodyLimit: BODY_LIMIT });
  harness.setTapped(true);
  harness.setWantBodies(wantBodies);
  if (json) harness.setTapJson({ ...tap.hub.textPolicy, originNs: 0, timeOrigin: performance.timeOrigin });
  generated.forEach((g, i) => {
    const input: NativeH2ExchangeInput = { ...g.input, stream: 2 * i + 1 };
    const capture = harness.requestHead(input);
    for (const c of g.requestChunks) if (capture) harness.body(input.stream, true, c);
    if (input.status !== 0) {
      harness.responseHead(input);
      for (const c of g.responseChunks) if (capture) harness.body(input.stream, false, c);
    }
    harness.end(input);
  });
  const observation = createNativeObservation(services, { detectTimeoutMs: 1000, limits: DEFAULT_OBSERVER_LIMITS }, () => {});
  const proxy = inbound ? 'in' : 'out';
  observation.open(connId, proxy, src, dst, 0);
  observation.detected(connId, 'h2-native', '', 0);
  let jsonEvents = 0;
  const counted = <A extends unknown[]>(f: (...args: A) => void) => (...args: A) => {
    if (args[args.length - 1] !== undefined && typeof args[args.length - 1] === 'object' && 'text' in (args[args.length - 1] as object)) jsonEvents++;
    f(...args);
  };
  const handler: NativeRecordHandler = {
    ...observation,
    h2RequestHead: counted(observation.h2RequestHead),
    h2ResponseHead: counted(observation.h2ResponseHead),
    h2End: counted(observation.h2End),
    requestHead: counted(observation.requestHead),
    responseHead: counted(observation.responseHead),
    exchangeEnd: counted(observation.exchangeEnd),
    connectError() {},
    boundHit() {},
  };
  const batch = harness.drain();
  if (batch !== undefined) decodeNativeRecords(batch, 0, Infinity, 0, handler);
  await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));
  return { received: tap.received(), jsonEvents };
}

describe.skipIf(!available)('tap events written as JSON by C++ (firehose)', () => {
  it('give every subscriber the bytes the JS path gives it', async () => {
    let jsonEvents = 0;
    let events = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stream, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.boolean(), async (generated, wantBodies, withFiltered, grantSeed, inbound) => {
        // Two or three grants at a time, so that one subscriber alone is tried too.
        const grants = [GRANTS[grantSeed % GRANTS.length]!, ...(grantSeed >= 5 ? [GRANTS[(grantSeed * 7) % GRANTS.length]!] : []), ...(withFiltered ? [FILTERED] : [])];
        const connId = 7 + grantSeed;
        const withJson = await run(generated, grants, true, wantBodies, connId, inbound);
        const without = await run(generated, grants, false, wantBodies, connId, inbound);
        expect(without.jsonEvents).toBe(0);
        expect(withJson.received).toEqual(without.received);
        jsonEvents += withJson.jsonEvents;
        events += generated.length * 3;
      }),
      { numRuns: 120 },
    );
    // The fast path was taken (not a test of nothing): a good share of the events were written in C++.
    expect(jsonEvents).toBeGreaterThan(events / 10);
  }, 120_000);
});

/** One HTTP/1 exchange as bytes: the request (head and body), the response. */
interface H1Exchange {
  request: Buffer;
  response: Buffer;
  isHttp10: boolean;
}

const h1Value = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('v', 'curl/8.5.0', 'text/plain', '*/*', 'x'.repeat(80)) },
  { weight: 2, arbitrary: fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/) },
  { weight: 2, arbitrary: fc.constantFrom('Bearer abcdefgh', 'http://u:pw@host/x', '/x?token=abcdefgh', 'a%3Fb', 'caf\xe9', '\xff\xfe', 'a"b\\c\t d') },
);
const h1Name = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('User-Agent', 'Accept', 'X-Trace', 'x-request-id') },
  { weight: 1, arbitrary: fc.constantFrom('Authorization', 'cookie', 'Set-Cookie', 'X-Api-Key', 'grpc-message') },
);
const h1Fields = fc.array(fc.tuple(h1Name, h1Value, fc.constantFrom(' ', '', '  ', '\t')), { maxLength: 4 });
const h1Body = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', 'hello', '{"a":1}', 'ok\n', 'x'.repeat(70)) },
  { weight: 1, arbitrary: fc.constantFrom('{"token":"abcdefgh"}', 'password=abcdefgh', '4111111111111111', '\xe9\xff', 'a+b%41') },
).map((t) => Buffer.from(t, 'latin1'));

const h1Exchange: fc.Arbitrary<H1Exchange> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    target: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('/', '/users/12', '/a/b.txt') }, { weight: 2, arbitrary: fc.constantFrom('/x?a=1', '/x?token=abcdefgh', 'http://u:p@web/y', 'http://web:81/z', '/caf\xe9', '*') }),
    host: fc.option(fc.constantFrom('web', 'web:8080', 'u:p@web', 'caf\xe9'), { nil: undefined }),
    isHttp10: fc.constantFrom(false, false, false, true),
    fields: h1Fields,
    requestBody: h1Body,
    requestChunked: fc.boolean(),
    requestTrailers: h1Fields,
    status: fc.constantFrom(200, 200, 404, 500, 204),
    reason: fc.constantFrom(' OK', ' Whatever', ''),
    responseFields: h1Fields,
    responseBody: h1Body,
    responseChunked: fc.boolean(),
    responseTrailers: h1Fields,
  })
  .map((g) => {
    const line = (f: [string, string, string]) => `${f[0]}:${f[2]}${f[1]}\r\n`;
    const chunked = (body: Buffer, trailers: Array<[string, string, string]>) =>
      Buffer.concat([body.length > 0 ? Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1') : Buffer.alloc(0), body, body.length > 0 ? Buffer.from('\r\n') : Buffer.alloc(0), Buffer.from(`0\r\n${trailers.map(line).join('')}\r\n`, 'latin1')]);
    const isChunkedRequest = g.requestChunked && !g.isHttp10;
    let head = `${g.method} ${g.target} HTTP/1.${g.isHttp10 ? 0 : 1}\r\n`;
    if (g.host !== undefined) head += `Host: ${g.host}\r\n`;
    head += g.fields.map(line).join('');
    head += isChunkedRequest ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${g.requestBody.length}\r\n`;
    const request = Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), isChunkedRequest ? chunked(g.requestBody, g.requestTrailers) : g.requestBody]);
    const hasBody = g.status !== 204;
    const isChunkedResponse = g.responseChunked && !g.isHttp10 && hasBody;
    let rhead = `HTTP/1.1 ${g.status}${g.reason}\r\n` + g.responseFields.map(line).join('');
    if (hasBody) rhead += isChunkedResponse ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${g.responseBody.length}\r\n`;
    const response = Buffer.concat([Buffer.from(rhead + '\r\n', 'latin1'), !hasBody ? Buffer.alloc(0) : isChunkedResponse ? chunked(g.responseBody, g.responseTrailers) : g.responseBody]);
    return { request, response, isHttp10: g.isHttp10 };
  });

/** The exchanges through one connection's C++ observation (JSON on or off), its records into a hub. */
async function runH1(exchanges: H1Exchange[], grants: Grant[], json: boolean, wantBodies: boolean, times: number[], connId: number, inbound: boolean, split: number): Promise<Run> {
  const tap = tappedHub(grants);
  const services: ObservationServices = {
    identity: { workload: 'deploy/api', namespace: 'shop' },
    metrics: createProxyMetrics(WORKLOAD),
    recorder: createFlightRecorder(1 << 22),
    hub: tap.hub,
    bodyLimit: BODY_LIMIT,
    recorderBodies: false,
  };
  const harness = createNativeDriverHarness({ connId, inbound, src: '10.0.0.3:41000', dst: '10.0.0.4:8080', bodyLimit: BODY_LIMIT });
  harness.setTapped(true);
  harness.setWantBodies(wantBodies);
  if (json) harness.setTapJson({ ...tap.hub.textPolicy, originNs: 0, timeOrigin: performance.timeOrigin });
  let t = 0;
  const at = () => (t += times[t % times.length]! + 1);
  for (const ex of exchanges) {
    // Each message in two reads, cut at `split` (bytes), so heads and bodies arrive in pieces.
    for (const [fromClient, bytes] of [[true, ex.request], [false, ex.response]] as const) {
      const cut = Math.min(split, bytes.length);
      harness.data(fromClient, bytes.subarray(0, cut), at());
      harness.data(fromClient, bytes.subarray(cut), at());
    }
    if (ex.isHttp10) break; // the server closes after an HTTP/1.0 exchange
  }
  harness.close(at());
  let jsonEvents = 0;
  const observation = createNativeObservation(services, { detectTimeoutMs: 1000, limits: DEFAULT_OBSERVER_LIMITS }, () => {});
  const counted = <A extends unknown[]>(f: (...args: A) => void) => (...args: A) => {
    const last = args[args.length - 1];
    if (last !== undefined && typeof last === 'object' && last !== null && 'text' in last) jsonEvents++;
    f(...args);
  };
  const handler: NativeRecordHandler = {
    ...observation,
    requestHead: counted(observation.requestHead),
    responseHead: counted(observation.responseHead),
    exchangeEnd: counted(observation.exchangeEnd),
    connectError() {},
    boundHit() {},
  };
  const batch = harness.drain();
  if (batch !== undefined) decodeNativeRecords(batch, 0, Infinity, 0, handler);
  await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));
  return { received: tap.received(), jsonEvents };
}

describe.skipIf(!available)('HTTP/1 tap events written as JSON by C++ (firehose)', () => {
  it('give every subscriber the bytes the JS path gives it', async () => {
    let jsonEvents = 0;
    let events = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(h1Exchange, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 5 }),
        fc.nat(300),
        async (exchanges, wantBodies, withFiltered, grantSeed, inbound, times, split) => {
          const grants = [GRANTS[grantSeed % GRANTS.length]!, ...(grantSeed >= 5 ? [GRANTS[(grantSeed * 7) % GRANTS.length]!] : []), ...(withFiltered ? [FILTERED] : [])];
          const connId = 3 + grantSeed;
          const withJson = await runH1(exchanges, grants, true, wantBodies, times, connId, inbound, split);
          const without = await runH1(exchanges, grants, false, wantBodies, times, connId, inbound, split);
          expect(without.jsonEvents).toBe(0);
          expect(withJson.received).toEqual(without.received);
          expect(withJson.received.some((r) => r.length > 0)).toBe(true);
          jsonEvents += withJson.jsonEvents;
          events += exchanges.length * 3;
        },
      ),
      { numRuns: 120 },
    );
    expect(jsonEvents).toBeGreaterThan(events / 10);
  }, 120_000);
});

