/**
 * Regression (issue 10 item 6): gRPC calls that end without a usable grpc-status counted as
 * successes with no status and no error. Through the real sidecar process with a real grpc-js
 * client: the interop case `cancel_after_first_response` against a grpc-js server, and a
 * node:http2 server that ends calls without trailers or with malformed grpc-status values.
 * Each call's `end` event carries the status its client reports and an `error` saying why, and
 * `response_total` counts it as a failure.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_SERVICE, startGrpcEcho, type GrpcEcho } from './support/grpc-echo.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { ENGINES } from './support/engines.js';

const raw = (b: Buffer) => b;

/** gRPC message framing: flag byte + 4-byte length. */
function grpcFrame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** A node:http2 server answering `/bad.Svc/<case>` the broken way each case names. */
async function startBrokenGrpcServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const name = String(headers[':path']).split('/').pop()!;
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('end', () => {
      if (name === 'NoTrailers') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end(grpcFrame(Buffer.from('reply')));
        return;
      }
      const value = decodeURIComponent(name.slice('Status'.length));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': value, 'grpc-message': 'broken' }));
      stream.end(grpcFrame(Buffer.from('reply')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(ENGINES)('regression: gRPC calls without a usable grpc-status (engine %s)', (engine) => {
  let echo: GrpcEcho;
  let broken: { port: number; close(): Promise<void> };
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    echo = await startGrpcEcho();
    broken = await startBrokenGrpcServer();
    sidecar = await startSidecarProcess([
      '--engine', engine,
      '--forward', `127.0.0.1:0=127.0.0.1:${echo.port}`,
      '--forward', `127.0.0.1:0=127.0.0.1:${broken.port}`,
      '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
    tap = await openTapCollector(sidecar.tap!);
  });

  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await echo?.close();
    await broken?.close();
  });

  const failures = async (grpcStatus: string): Promise<number> =>
    sumMetric(await scrape(sidecar.admin!), 'response_total', { classification: 'failure', grpc_status: grpcStatus });

  it('cancel_after_first_response: the client reports CANCELLED; so does the tap, as a failure', async () => {
    const before = await failures('1');
    const client = new grpc.Client(sidecar.forwards[0].address, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) => {
      const call = client.makeBidiStreamRequest(ECHO_SERVICE.Bidi.path, raw, raw);
      call.on('data', () => call.cancel());
      call.on('error', (err: grpc.ServiceError) => resolve(err.code));
      call.write(Buffer.from('first'));
    });
    client.close();
    expect(code).toBe(grpc.status.CANCELLED);
    const [end] = await tap.waitForEnds(1, (e) => e.path === ECHO_SERVICE.Bidi.path);
    // What passed through: either the reset (CANCELLED, error reset) or, when the server's
    // trailers crossed the client's reset, the server's own status with no error.
    if (end.error === undefined) expect(end.grpcStatus).toBe(0);
    else {
      expect([end.status, end.grpcStatus, end.error, end.responseMessages]).toEqual([200, 1, 'reset', 1]);
      expect(await failures('1')).toBe(before + 1);
    }
  });

  it.each([
    ['NoTrailers', 13, 'grpc-status-missing', grpc.status.INTERNAL],
    [`Status${encodeURIComponent('abc')}`, 2, 'grpc-status-malformed', undefined],
    [`Status${encodeURIComponent('-1')}`, 2, 'grpc-status-malformed', undefined],
    [`Status${encodeURIComponent('0x2')}`, 2, 'grpc-status-malformed', undefined],
    [`Status${encodeURIComponent(' 13 ')}`, 2, 'grpc-status-malformed', undefined],
  ])('%s: event grpcStatus %d with error %s, counted as a failure', async (name, status, error, clientCode) => {
    const path = `/bad.Svc/${name}`;
    const before = await failures(String(status));
    const client = new grpc.Client(sidecar.forwards[1].address, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) => {
      client.makeUnaryRequest(path, raw, raw, Buffer.from('x'), (err) => resolve(err ? err.code : grpc.status.OK));
    });
    client.close();
    // Clients agree on a missing status (INTERNAL); on malformed ones they differ (grpc-js passes
    // `abc` on as NaN, `-1` as -1, reads ` 13 ` as 13; gRPC core says UNKNOWN), never OK.
    if (clientCode !== undefined) expect(code).toBe(clientCode);
    else expect(code).not.toBe(grpc.status.OK);
    const [end] = await tap.waitForEnds(1, (e) => e.path === path);
    expect([end.status, end.grpcStatus, end.error]).toEqual([200, status, error]);
    expect(await failures(String(status))).toBe(before + 1);
  });
});
