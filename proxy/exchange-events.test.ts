import { describe, expect, it } from 'vitest';
import { type TapEvent, compileMatches } from '../tap-protocol/index.js';
import { createExchangeSink, wallClock, type ObservationServices } from './exchange-events.js';
import { createFlightRecorder, estimateEventBytes } from './flight-recorder.js';
import { createHttp1Observer } from './http1/index.js';
import { createProxyMetrics } from './metrics.js';
import { createExchange, DEFAULT_OBSERVER_LIMITS } from './observe.js';
import { createTapHub } from './tap-hub.js';
import { realisticExchange } from './test-support/realistic-exchange.js';

describe('wallClock', () => {
  it('gives the same ISO-8601 text as Date, across second boundaries and in any order', () => {
    const base = Math.floor((Date.now() - performance.timeOrigin) / 1000) * 1000;
    for (const offset of [0, 1, 9, 10, 99, 100, 999, 999.9, 1000, 1000.5, 5, 2001, 37, 86_400_000]) {
      const perf = base + offset;
      expect(wallClock(perf)).toBe(new Date(Math.floor(performance.timeOrigin + perf)).toISOString());
    }
  });
});

/** HTTP/1 exchanges that exercise every part of an `end` event the recorder keeps. */
const CLIENT = [
  'GET /plain HTTP/1.1\r\nHost: web:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n',
  'GET http://user:secret@api.example/abs HTTP/1.1\r\nHost: ignored\r\n\r\n',
  'GET /utf8 HTTP/1.1\r\nHost: me:pw@web\r\nX-Name: Jos\xc3\xa9\r\nX-Raw: \xff\xfe\r\n\r\n',
  'POST /chunked HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Req-Trailer: 1\r\n\r\n',
  'HEAD /head HTTP/1.1\r\nHost: web\r\n\r\n',
  'GET /trailers HTTP/1.1\r\nHost: web\r\n\r\n',
  'POST /cut HTTP/1.1\r\nHost: web\r\nContent-Length: 10\r\n\r\nabc',
].join('');
const SERVER = [
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nX-Answer: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Checksum: abc\r\n\r\n',
  'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n',
].join('');

function services(withSubscriber: boolean): ObservationServices {
  const hub = createTapHub();
  if (withSubscriber) hub.subscribe({ match: compileMatches([]), bodies: false, reveal: 'all', writer: { write: (_batch, sent) => sent() } });
  return {
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
    metrics: createProxyMetrics({ namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' }),
    recorder: createFlightRecorder(1 << 20),
    hub,
    bodyLimit: 1024,
    recorderBodies: false,
  };
}

/** Runs the conversation through a real HTTP/1 observer into a sink; returns what the recorder holds. */
function record(withSubscriber: boolean) {
  const s = services(withSubscriber);
  const sink = createExchangeSink({ id: 7, proxy: 'in', src: '10.0.0.1:5000', dst: '10.0.0.2:8080' }, s, { onGiveUp() {}, onUpgrade() {} });
  let clock = 1000;
  const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => (clock += 1.5) });
  observer.clientData(Buffer.from(CLIENT, 'latin1'));
  observer.serverData(Buffer.from(SERVER, 'latin1'));
  observer.close('reset');
  // An HTTP/2 exchange (pseudo-headers, gRPC trailers), fed to the sink as its observer would.
  const h2 = createExchange(1, 'grpc', 2000);
  h2.method = 'POST';
  h2.scheme = 'http';
  h2.authority = 'u:p@svc';
  h2.path = '/pkg.Svc/Call';
  h2.requestHeaders = [[':method', 'POST'], [':authority', 'u:p@svc'], [':path', '/pkg.Svc/Call'], ['content-type', 'application/grpc']];
  sink.requestHead(h2);
  h2.status = 200;
  h2.responseMs = 2001;
  h2.responseHeaders = [[':status', '200']];
  sink.responseHead(h2);
  h2.trailers = [['grpc-status', '14'], ['grpc-message', 'down']];
  h2.grpcStatus = 14;
  h2.grpcMessage = 'down';
  h2.requestMessages = 1;
  h2.endMs = 2002;
  sink.end(h2);
  return { events: s.recorder.query({}), bytes: s.recorder.bytes, size: s.recorder.size };
}

describe('exchange sink and the flight recorder', () => {
  it('records the same end events, and the same bytes, whether the event is made at once (tapped) or on query', () => {
    const tapped = record(true);
    const untapped = record(false);
    expect(tapped.size).toBe(8);
    expect(untapped.events).toEqual(tapped.events);
    expect(untapped.bytes).toBe(tapped.bytes);
    // Compact records: a fraction of what the events' objects take.
    expect(untapped.bytes).toBeLessThan(tapped.events.reduce((n, e) => n + estimateEventBytes(e), 0) / 4);
  });

  it('makes recorded events with decoded headers, redacted userinfo and errors', () => {
    const byPath = new Map<string, TapEvent>(record(false).events.map((e) => [e.path, e]));
    expect(byPath.get('/plain')).toMatchObject({
      kind: 'end',
      id: '7.1',
      authority: 'web:8080',
      dstWorkload: 'deploy/web',
      status: 200,
      requestHeaders: [['Host', 'web:8080'], ['User-Agent', 't'], ['Accept', '*/*']],
      responseHeaders: [['Content-Type', 'text/plain'], ['Content-Length', '2']],
      responseBytes: 2,
    });
    expect(byPath.get('http://[redacted]@api.example/abs')).toMatchObject({ authority: 'api.example', status: 404 });
    expect(byPath.get('/utf8')).toMatchObject({
      authority: '[redacted]@web',
      requestHeaders: [['Host', '[redacted]@web'], ['X-Name', 'José'], ['X-Raw', '\\xFF\\xFE']],
      responseHeaders: [['X-Answer', 'café'], ['Content-Length', '0']],
    });
    expect(byPath.get('/trailers')?.trailers).toEqual([['X-Checksum', 'abc']]);
    expect(byPath.get('/cut')).toMatchObject({ status: 500, requestBytes: 3, error: 'reset' });
    expect(byPath.get('/pkg.Svc/Call')).toMatchObject({
      authority: '[redacted]@svc',
      requestHeaders: [[':method', 'POST'], [':authority', '[redacted]@svc'], [':path', '/pkg.Svc/Call'], ['content-type', 'application/grpc']],
      grpcStatus: 14,
      grpcMessage: 'down',
    });
  });
});

describe('ends-only taps', () => {
  it('with only an ends-only tap reading, no req/rsp event is made, and the end carries the bodies its filter may want', async () => {
    const s = services(false);
    const batches: string[] = [];
    const sub = s.hub.subscribe({ match: compileMatches([[{ field: 'pathPrefix', value: '/chunked' }]]), bodies: true, endsOnly: true, reveal: new Set(), writer: { write: (b, sent) => (batches.push(b), sent()) } });
    sub.live = true;
    const published: string[] = [];
    const publish = s.hub.publish.bind(s.hub);
    s.hub.publish = (kind, e) => (published.push(kind), publish(kind, e));
    const sink = createExchangeSink({ id: 7, proxy: 'in', src: '10.0.0.1:5000', dst: '10.0.0.2:8080' }, s, { onGiveUp() {}, onUpgrade() {} });
    let clock = 1000;
    const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => (clock += 1.5) });
    observer.clientData(Buffer.from(CLIENT, 'latin1'));
    observer.serverData(Buffer.from(SERVER, 'latin1'));
    observer.close('reset');
    expect(published.length).toBe(7);
    expect(new Set(published)).toEqual(new Set(['end']));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const got = batches.flatMap((b) => JSON.parse(b) as Array<{ type: string; event: TapEvent }>).map((m) => m.event);
    expect(got.map((e) => `${e.kind} ${e.path}`)).toEqual(['end /chunked']);
    expect(got[0]!.requestBody).toMatchObject({ data: 'abc', size: 3 });
    expect(got[0]!.responseBody).toMatchObject({ data: '', size: 0, truncated: false }); // its 201 has no body
  });
});

describe('events of interleaved exchanges (issue 14: header lists redacted once per exchange)', () => {
  it('each req, rsp and end shows its own exchange\'s id and header lists, redacted, however streams interleave', () => {
    const s = services(false);
    const got: TapEvent[] = [];
    s.hub.subscribe({ match: compileMatches([]), bodies: false, reveal: 'all', writer: { write: (_b, sent) => sent() } }).live = true;
    const publish = s.hub.publish.bind(s.hub);
    s.hub.publish = (kind, e) => (got.push(e), publish(kind, e));
    const sink = createExchangeSink({ id: 9, proxy: 'out', src: '10.0.0.1:5000', dst: '10.0.0.2:8080' }, s, { onGiveUp() {}, onUpgrade() {} });
    const make = (stream: number, who: string) => {
      const ex = createExchange(stream, 'h2', 100 + stream);
      ex.method = 'GET';
      ex.scheme = 'http';
      ex.authority = 'svc';
      ex.path = `/${who}`;
      ex.requestHeaders = [[':path', `/${who}`], ['referer', `http://${who}:pw-${who}@${who}.site/from`]];
      return ex;
    };
    const answer = (ex: ReturnType<typeof make>, who: string) => {
      ex.status = 302;
      ex.responseMs = ex.startMs + 1;
      ex.responseHeaders = [[':status', '302'], ['location', `http://${who}:loc-${who}@${who}.site/to`]];
    };
    const a = make(1, 'alice');
    const b = make(3, 'bob');
    const c = make(1, 'carol'); // a later exchange that reuses stream number 1 (h2c keeps its HTTP/1 number)
    sink.requestHead(a);
    sink.requestHead(b);
    answer(b, 'bob');
    sink.responseHead(b);
    answer(a, 'alice');
    sink.responseHead(a);
    a.endMs = b.endMs = 200;
    sink.end(b);
    sink.end(a);
    sink.requestHead(c);
    answer(c, 'carol');
    sink.responseHead(c);
    c.endMs = 300;
    sink.end(c);
    expect(got.map((e) => `${e.kind} ${e.id} ${e.path}`)).toEqual([
      'req 9.1 /alice',
      'req 9.3 /bob',
      'rsp 9.3 /bob',
      'rsp 9.1 /alice',
      'end 9.3 /bob',
      'end 9.1 /alice',
      'req 9.1 /carol',
      'rsp 9.1 /carol',
      'end 9.1 /carol',
    ]);
    for (const e of got) {
      const who = e.path.slice(1);
      expect(e.requestHeaders).toEqual([[':path', `/${who}`], ['referer', `http://[redacted]@${who}.site/from`]]);
      if (e.kind !== 'req') expect(e.responseHeaders).toEqual([[':status', '302'], ['location', `http://[redacted]@${who}.site/to`]]);
      expect(JSON.stringify(e)).not.toMatch(/pw-|loc-/);
    }
    // The exchanges keep what was observed (redaction made copies).
    expect(a.requestHeaders[1]![1]).toBe('http://alice:pw-alice@alice.site/from');
  });
});

describe('flight recorder depth (issue 14)', () => {
  /** A browser-like request and an API answer: repeated headers, plus per-request ids and a clock. */
  const exchange = realisticExchange;

  it('keeps 5 minutes at 100 exchanges/s with realistic headers (no bodies) within 16 MiB, and makes the same events as a tap does', () => {
    const s = services(false);
    const tapped = services(true);
    const EXCHANGES = 3000;
    for (const svc of [s, tapped]) {
      for (let c = 0; c < 10; c++) {
        const sink = createExchangeSink({ id: c + 1, proxy: 'in', src: `10.0.0.${c + 1}:5000`, dst: '10.0.0.2:8080' }, svc, { onGiveUp() {}, onUpgrade() {} });
        let clock = 1000;
        const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => (clock += 0.25) });
        for (let i = c; i < EXCHANGES; i += 10) {
          const [req, rsp] = exchange(i);
          observer.clientData(Buffer.from(req, 'latin1'));
          observer.serverData(Buffer.from(rsp, 'latin1'));
        }
        observer.close();
      }
    }
    expect(s.recorder.size).toBe(EXCHANGES);
    const perExchange = s.recorder.bytes / s.recorder.size;
    // 5 min × 100/s = 30,000 exchanges in 16 MiB: at most 559 bytes each.
    expect(perExchange * 30_000).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(s.recorder.query({})).toEqual(tapped.recorder.query({}));
    expect(s.recorder.query({ last: 1 })[0]).toMatchObject({ path: '/api/v1/orders/1499?page=3', status: 200 });
  });
});
