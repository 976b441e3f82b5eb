/**
 * unproc13: an HTTP/2 stream the server never processed is not a response. A server refuses a
 * stream with RST_STREAM(REFUSED_STREAM) before any response HEADERS, or sends a GOAWAY whose
 * last-stream-id is below it (RFC 9113 §8.7): the client may send it again, and grpc-js does on
 * its own, so a call that succeeded showed up as a request plus an UNAVAILABLE failure, 50 %
 * success. Now such a stream counts in request_total and meshtap_unprocessed_requests_total
 * {reason="refused"|"goaway"}, in no response_total / route_response_total / latency series; its
 * end event (live and in the flight recorder's history) keeps its error and grpcStatus and says `unprocessed`; `meshtap stat` and `meshtap top`
 * read 100 %. A REFUSED_STREAM after the response HEADERS, any other reset code, and a GOAWAY
 * past a stream that already had its response HEADERS stay failures (cut responses, exact12).
 * Both engines, one sidecar process each; a real grpc-js client against a real node:http2 server
 * that refuses (stream.close(REFUSED_STREAM)) and that sends GOAWAY (session.goaway), a node:http2
 * client (which does not retry) against hand-written frames for the cases that stay failures.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES, type Engine } from './support/engines.js';
import { FLAG, FRAME, PREFACE, frame, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet, parseMetrics, type Sample } from './support/metrics-scrape.js';
import { startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

const raw = (b: Buffer): Buffer => b;
const REFUSED = '/unproc.Svc/Refused';
const HOLD = '/unproc.Svc/Hold';
const LATE = '/unproc.Svc/Late';

function grpcFrame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/**
 * The gRPC backend (node:http2): the first call of REFUSED is refused (RST_STREAM REFUSED_STREAM,
 * no HEADERS); the first LATE, sent while a HOLD is open on the same connection, gets a GOAWAY
 * whose last-stream-id is the HOLD's stream, then the HOLD is answered. Every other call is OK.
 */
async function grpcBackend(): Promise<{ server: http2.Http2Server; port: number; held: Promise<void> }> {
  const attempts = new Map<string, number>();
  let holding: http2.ServerHttp2Stream | undefined;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const answer = (stream: http2.ServerHttp2Stream): void => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(grpcFrame(Buffer.from('ok')));
  };
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const path = String(headers[':path']);
    const n = (attempts.get(path) ?? 0) + 1;
    attempts.set(path, n);
    stream.resume();
    if (path === REFUSED && n === 1) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else if (path === HOLD) {
      holding = stream;
      onHeld();
    } else if (path === LATE && n === 1 && holding !== undefined && holding.session === stream.session) {
      // This stream and any later one were not processed; the held one was, and is answered.
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, holding.id!);
      answer(holding);
    } else answer(stream);
  });
  server.on('sessionError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, held };
}

/** Frame-level answers on stream 1, by the authority of the connection's request (cases that stay failures). */
type RawAnswer = 'refused-before-headers' | 'refused-after-headers' | 'internal-before-headers' | 'goaway-after-headers';
const RAW: Record<string, { answer: RawAnswer; status?: number; error: string; unprocessed?: string }> = {
  // A plain h2 request refused, its client (node:http2) does not retry: not processed all the same.
  'refused-before.test': { answer: 'refused-before-headers', error: 'reset', unprocessed: 'refused' },
  // REFUSED_STREAM after the response HEADERS: a response cut short (exact12), a failure.
  'refused-after.test': { answer: 'refused-after-headers', status: 200, error: 'reset' },
  // Another code before any response: as before, a failure without a status.
  'internal-before.test': { answer: 'internal-before-headers', error: 'reset' },
  // A GOAWAY below a stream that had its response HEADERS: the server contradicts itself; a cut response.
  'goaway-after.test': { answer: 'goaway-after-headers', status: 200, error: 'goaway' },
};

/** The i-th connection answers as the i-th entry of RAW (requests are made one after another, in that order). */
function rawBackend(): Promise<ScriptedServer> {
  let next = 0;
  return startScriptedServer((conn: RecordedSocket) => {
    const answer = Object.values(RAW)[next++]?.answer;
    void (async () => {
      const isRequest = (r: Buffer) => r.length > PREFACE.length && parseFrames(r.subarray(PREFACE.length)).some((f) => f.type === FRAME.HEADERS && f.stream === 1);
      await conn.waitFor(isRequest, 'the request HEADERS');
      if (answer === undefined) return conn.destroy();
      await conn.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.SETTINGS, FLAG.ACK, 0)]));
      const code = (c: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(c);
        return b;
      };
      if (answer === 'refused-after-headers' || answer === 'goaway-after-headers') {
        await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, hpackLiterals([[':status', '200']])));
        await new Promise((r) => setTimeout(r, 50));
      }
      if (answer === 'goaway-after-headers') {
        const goaway = Buffer.alloc(8); // last-stream-id 0: stream 1 "not processed", yet it had its response HEADERS
        goaway.writeUInt32BE(0, 0);
        goaway.writeUInt32BE(0, 4);
        await conn.write(frame(FRAME.GOAWAY, 0, 0, goaway));
        return conn.end();
      }
      await conn.write(frame(RST_STREAM, 0, 1, code(answer === 'internal-before-headers' ? 2 : 7)));
      await conn.waitForEnd();
      conn.end();
    })().catch(() => conn.destroy());
  });
}
const RST_STREAM = 3;

async function h2Request(port: number, authority: string): Promise<void> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => {
      const req = client.request({ ':method': 'GET', ':path': `/${authority.replace('.test', '')}`, ':authority': authority });
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end();
    });
  } finally {
    client.destroy();
  }
}

/** One unary call; resolves with its status code. */
function call(client: grpc.Client, path: string): Promise<number> {
  return new Promise((resolve) => client.makeUnaryRequest(path, raw, raw, Buffer.from('x'), (err) => resolve(err ? err.code : grpc.status.OK)));
}

/** An HTTP proxy in front of the sidecar's admin address that tells when `meshtap stat` took its first scrape. */
async function scrapeWatch(admin: string): Promise<{ address: string; firstScrape: Promise<void>; close(): void }> {
  let seen!: () => void;
  const firstScrape = new Promise<void>((resolve) => (seen = resolve));
  const server = http.createServer((req, res) => {
    void httpGet(admin, req.url ?? '/').then(
      (r) => {
        res.writeHead(r.status, { 'content-type': String(r.headers['content-type'] ?? 'text/plain') });
        res.end(r.body);
        if (req.url === '/metrics') seen();
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, firstScrape, close: () => server.close() };
}

const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

describe.each(ENGINES)('unproc13: an HTTP/2 stream the server never processed is not a response (%s engine)', (engine: Engine) => {
  let backend: Awaited<ReturnType<typeof grpcBackend>>;
  let rawServer: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    backend = await grpcBackend();
    rawServer = await rawBackend();
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--workload', 'deploy/api', '--namespace', 'default', '--pod', 'api-1',
      '--forward', `127.0.0.1:0=127.0.0.1:${backend.port}`, '--forward', `127.0.0.1:0=127.0.0.1:${rawServer.port}`,
    ]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    backend?.server.close();
    await rawServer?.close();
  });

  it('grpc-js retries a refused call and one past a GOAWAY on its own: 100 % in response_total, route_response_total, stat and top; the unprocessed streams counted apart, their end events marked', async () => {
    const watch = await scrapeWatch(sidecar.admin!);
    const stat = spawnMeshtap(['stat', 'deploy', '--admin', watch.address, '-t', '8s'], { timeoutMs: 60_000 });
    const top = spawnMeshtap(['top', '--proxy', sidecar.tap!, '--duration', '8s'], { timeoutMs: 60_000 });
    try {
      await watch.firstScrape;
      await until('top is subscribed', async () => sum(parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body), 'meshtap_tap_subscribers') >= 2, 20_000);

      const client = new grpc.Client(sidecar.forwards[0]!.address, grpc.credentials.createInsecure());
      try {
        expect(await call(client, REFUSED)).toBe(grpc.status.OK);
        const hold = call(client, HOLD);
        await backend.held;
        expect(await call(client, LATE)).toBe(grpc.status.OK);
        expect(await hold).toBe(grpc.status.OK);
      } finally {
        client.close();
      }

      // Five streams: two never processed, three answered.
      const ends = await tap.waitForEnds(5);
      const shown = (e: TapEvent) => [e.path, e.status ?? null, e.grpcStatus ?? null, e.error ?? null, e.unprocessed ?? null];
      const expectedEnds = [
        [REFUSED, null, 14, 'reset', 'refused'],
        [REFUSED, 200, 0, null, null],
        [HOLD, 200, 0, null, null],
        [LATE, null, 14, 'goaway', 'goaway'],
        [LATE, 200, 0, null, null],
      ].sort();
      expect(ends.map(shown).sort()).toEqual(expectedEnds);
      // The flight recorder keeps the mark (js: exchange-codec.ts; native: the recorder ring): a history tap reads the same.
      const history = await sidecarTapEvents(sidecar, { sinceMs: 600_000 });
      expect(history.filter((e) => e.kind === 'end' && e.path.startsWith('/unproc.Svc/')).map(shown).sort()).toEqual(expectedEnds);

      let samples: Sample[] = [];
      await until('every stream is counted', async () => {
        samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
        return sum(samples, 'response_total') + sum(samples, 'meshtap_unprocessed_requests_total') >= 5;
      });
      expect(sum(samples, 'request_total')).toBe(5);
      const series = samples.filter((s) => s.name === 'response_total').map((s) => `${s.labels.status_code}/${s.labels.grpc_status}/${s.labels.classification}=${s.value}`);
      expect(series).toEqual(['200/0/success=3']);
      // Its own counter, on the labels of request_total (which counted all five).
      const [requests] = samples.filter((s) => s.name === 'request_total');
      const labelsOf = (s: Sample) => `${s.labels.direction} ${s.labels.authority} ${s.labels.target_addr}`;
      const unprocessed = samples.filter((s) => s.name === 'meshtap_unprocessed_requests_total').map((s) => `${labelsOf(s)} ${s.labels.reason}=${s.value}`);
      expect(unprocessed.sort()).toEqual([`${labelsOf(requests!)} goaway=1`, `${labelsOf(requests!)} refused=1`]);
      expect(requests!.labels.direction).toBe('inbound');
      expect(sum(samples, 'route_response_total', { classification: 'success' })).toBe(3);
      expect(sum(samples, 'route_response_total', { classification: 'failure' })).toBe(0);
      expect(sum(samples, 'response_latency_ms_count')).toBe(3);
      expect(sum(samples, 'route_response_latency_ms_count')).toBe(3);

      // stat and top: the calls succeeded, every one of them (top reads events: tap-protocol/outcome.ts).
      const [r, t] = await Promise.all([stat.done, top.done]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\ndefault\s+deploy\/api\s+1\/1\s+100\.00%\s/);
      expect(t.code, t.stderr).toBe(0);
      const rows = t.stdout.split('\n').filter((l) => l.includes('/unproc.Svc/'));
      expect(rows.map((l) => l.replace(/^.*(\/unproc\.Svc\/\w+)\s+(\d+)\s.*\s(\S+%)\s*$/, '$1 $2 $3')).sort()).toEqual([`${HOLD} 1 100.00%`, `${LATE} 1 100.00%`, `${REFUSED} 1 100.00%`]);
    } finally {
      watch.close();
    }
  }, 90_000);

  it('a refused plain h2 request (a client that does not retry) is unprocessed too; REFUSED_STREAM after the response HEADERS, another code, a GOAWAY past a response stay failures', async () => {
    const port = Number(sidecar.forwards[1]!.address.split(':').pop());
    const before = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
    for (const authority of Object.keys(RAW)) await h2Request(port, authority);
    const ends = await tap.waitForEnds(Object.keys(RAW).length, (e) => e.authority in RAW);
    const shown = (e: TapEvent) => ({ status: e.status, error: e.error, unprocessed: e.unprocessed });
    expect(Object.fromEntries(ends.map((e) => [e.authority, shown(e)]))).toEqual(
      Object.fromEntries(Object.entries(RAW).map(([a, x]) => [a, { status: x.status, error: x.error, unprocessed: x.unprocessed }])),
    );
    let samples: Sample[] = [];
    await until('every stream is counted', async () => {
      samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
      return sum(samples, 'response_total') + sum(samples, 'meshtap_unprocessed_requests_total') - sum(before, 'response_total') - sum(before, 'meshtap_unprocessed_requests_total') >= 4;
    });
    for (const [authority, x] of Object.entries(RAW)) {
      expect(sum(samples, 'request_total', { authority }), authority).toBe(1);
      expect(sum(samples, 'meshtap_unprocessed_requests_total', { authority }), authority).toBe(x.unprocessed ? 1 : 0);
      expect(sum(samples, 'response_total', { authority, classification: 'failure' }), authority).toBe(x.unprocessed ? 0 : 1);
      expect(sum(samples, 'response_total', { authority, classification: 'success' }), authority).toBe(0);
    }
    expect(sum(samples, 'route_response_total', { classification: 'failure' }) - sum(before, 'route_response_total', { classification: 'failure' })).toBe(3);
  }, 60_000);
});
