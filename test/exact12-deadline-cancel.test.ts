/**
 * exact12: a gRPC client's CANCEL that comes as its grpc-timeout runs out is its deadline
 * (DEADLINE_EXCEEDED, as the client reports), even when the sidecar sees it a little sooner than
 * the timeout. The client starts its clock when it writes grpc-timeout and the sidecar when it
 * reads the request; a loaded client or sidecar puts tens of ms between the two (a reset seen
 * 23 ms "early" at 300 ms on this machine under load, where the rule allowed 2 ms / 2 %: the
 * transparency-grpc deadline test read CANCELLED now and then). Here a raw HTTP/2 client plays a
 * client whose HEADERS left 15 ms after it computed a 300 ms grpc-timeout: its CANCEL comes 285 ms
 * after the HEADERS. A CANCEL at 100 ms stays the client's own (CANCELLED). Both engines, one
 * sidecar process each, the backend a real node:http2 server that never answers.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { FLAG, FRAME, PREFACE, frame, hpackLiterals } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { parseMetrics, httpGet } from './support/metrics-scrape.js';
import { connectRaw } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

const RST_STREAM = 3;
const CANCEL = 0x8;

const callHeaders = (stream: number, path: string): Buffer =>
  frame(
    FRAME.HEADERS,
    FLAG.END_HEADERS,
    stream,
    hpackLiterals([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'deadline.test'], ['content-type', 'application/grpc'], ['te', 'trailers'], ['grpc-timeout', '300m']]),
  );

const cancel = (stream: number): Buffer => {
  const code = Buffer.alloc(4);
  code.writeUInt32BE(CANCEL);
  return frame(RST_STREAM, 0, stream, code);
};

describe.each(ENGINES)('exact12: a CANCEL seen a little before grpc-timeout is the deadline (%s engine)', (engine) => {
  let backend: http2.Http2Server;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    backend = http2.createServer();
    backend.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.on('data', () => undefined);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
      '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`,
    ]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('CANCEL 15 ms before a 300 ms grpc-timeout: DEADLINE_EXCEEDED; at 100 ms: CANCELLED', async () => {
    const c = await connectRaw(Number(sidecar.forwards[0]!.address.split(':').pop()));
    await c.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    const at = async (stream: number, path: string, cancelAfterMs: number) => {
      await c.write(callHeaders(stream, path));
      await new Promise((r) => setTimeout(r, cancelAfterMs));
      await c.write(cancel(stream));
    };
    await Promise.all([at(1, '/pkg.Svc/Deadline', 285), at(3, '/pkg.Svc/Cancelled', 100)]);

    // A client's reset waits up to 2 s for an answer that crossed it (RESET_GRACE_MS).
    const ends = await tap.waitForEnds(2);
    const shown = Object.fromEntries(ends.map((e) => [e.path, [e.error, e.grpcStatus]]));
    expect(shown).toEqual({ '/pkg.Svc/Deadline': ['reset', 4], '/pkg.Svc/Cancelled': ['reset', 1] });
    c.destroy();

    await until('both calls are counted', async () => {
      const samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body).filter((s) => s.name === 'response_total');
      return samples.reduce((n, s) => n + s.value, 0) >= 2;
    });
    const series = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body)
      .filter((s) => s.name === 'response_total')
      .map((s) => `${s.labels.grpc_status}/${s.labels.classification}=${s.value}`)
      .sort();
    expect(series).toEqual(['1/failure=1', '4/failure=1']);
  }, 60_000);
});
