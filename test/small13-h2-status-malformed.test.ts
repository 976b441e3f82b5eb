/**
 * small13 (session 13): an HTTP/2 response head whose `:status` is missing or not three digits
 * (`20`, `2000`, `abc`) is a malformed response (RFC 9113 §8.3.2, §8.1.1): nghttp2 (curl, Node) and
 * grpc-go fail such a stream, so its client never got a response. Its `end` event said nothing of it
 * (no status, no error: it read as an exchange that ended cleanly with nothing to show). Now: error
 * `status-malformed`, gRPC status INTERNAL (what grpc-js and grpc-go report), a failure in
 * response_total. The bytes still reach the client unchanged. Both engines; a hand-written HTTP/2
 * backend (no library sends such a head), a raw client that reads every byte, one sidecar each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { FLAG, FRAME, PREFACE, clientStart, frame, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet, parseMetrics } from './support/metrics-scrape.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

/** The response head each authority gets (after it, DATA "body" with END_STREAM, or trailers-only for gRPC). */
const HEADS: Record<string, Array<[string, string]>> = {
  'ok.test': [[':status', '200']],
  'two-digits.test': [[':status', '20']],
  'four-digits.test': [[':status', '2000']],
  'letters.test': [[':status', 'abc']],
  'missing.test': [['content-type', 'text/plain']],
  'grpc-status-20.test': [[':status', '20'], ['content-type', 'application/grpc'], ['grpc-status', '0']],
};

const EXPECTED: Record<string, { status?: number; grpcStatus?: number; error?: string }> = {
  'ok.test': { status: 200 },
  'two-digits.test': { error: 'status-malformed' },
  'four-digits.test': { error: 'status-malformed' },
  'letters.test': { error: 'status-malformed' },
  'missing.test': { error: 'status-malformed' },
  // The server's own grpc-status 0 never reaches the call: its client failed the stream at the head.
  'grpc-status-20.test': { grpcStatus: 13, error: 'status-malformed' },
};

/** What the backend wrote on each connection after its SETTINGS, by authority. */
const written = new Map<string, Buffer>();

function backend(): Promise<ScriptedServer> {
  return startScriptedServer((conn: RecordedSocket) => {
    void (async () => {
      const got = await conn.waitFor((r) => r.length > PREFACE.length && parseFrames(r.subarray(PREFACE.length)).some((f) => f.type === FRAME.HEADERS), 'the request HEADERS');
      const authority = Object.keys(HEADS).find((a) => got.includes(a))!;
      const isGrpc = authority.startsWith('grpc');
      const head = hpackLiterals(HEADS[authority]!);
      const bytes = Buffer.concat([
        frame(FRAME.SETTINGS, 0, 0),
        frame(FRAME.SETTINGS, FLAG.ACK, 0),
        frame(FRAME.HEADERS, FLAG.END_HEADERS | (isGrpc ? FLAG.END_STREAM : 0), 1, head),
        ...(isGrpc ? [] : [frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('body'))]),
      ]);
      written.set(authority, bytes);
      await conn.write(bytes);
      await conn.waitForEnd();
      conn.end();
    })().catch(() => conn.destroy());
  });
}

/** One request on its own connection: a raw client (it fails nothing), which reads every byte the backend wrote. */
async function request(port: number, authority: string): Promise<Buffer> {
  const c = await connectRaw(port);
  const isGrpc = authority.startsWith('grpc');
  const fields: Array<[string, string]> = [[':method', isGrpc ? 'POST' : 'GET'], [':scheme', 'http'], [':path', isGrpc ? '/pkg.Svc/Call' : '/x'], [':authority', authority]];
  if (isGrpc) fields.push(['content-type', 'application/grpc'], ['te', 'trailers']);
  await c.write(Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackLiterals(fields))]));
  await until(`${authority}: the backend's bytes at the client`, () => written.has(authority) && c.received().length >= written.get(authority)!.length);
  c.end();
  await c.waitForEnd();
  await c.waitForClose();
  return c.received();
}

describe.each(ENGINES)('small13: an HTTP/2 :status that is missing or not three digits is a failed, malformed response (%s engine)', (engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    written.clear();
    server = await backend();
    sidecar = await startSidecarProcess(['--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await server?.close();
  });

  it('end event: no status, error status-malformed (gRPC: INTERNAL); response_total: failure; bytes unchanged', async () => {
    const port = Number(sidecar.forwards[0]!.address.split(':').pop());
    const names = Object.keys(HEADS);
    for (const authority of names) {
      const received = await request(port, authority);
      expect(received.equals(written.get(authority)!), authority).toBe(true);
    }

    const ends = await tap.waitForEnds(names.length);
    const shown = (e: TapEvent) => ({
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
    });
    expect(Object.fromEntries(ends.map((e) => [e.authority, shown(e)]))).toEqual(EXPECTED);

    let samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
    await until('every response is counted', async () => {
      samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
      return samples.filter((s) => s.name === 'response_total').reduce((n, s) => n + s.value, 0) >= names.length;
    });
    const classes = Object.fromEntries(samples.filter((s) => s.name === 'response_total').map((s) => [s.labels.authority, s.labels.classification]));
    expect(classes).toEqual(Object.fromEntries(names.map((n) => [n, n === 'ok.test' ? 'success' : 'failure'])));
  }, 60_000);
});
