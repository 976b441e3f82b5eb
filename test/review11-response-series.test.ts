/**
 * review11 (exactness of /metrics): `response_total` keeps one series per (status, grpc-status,
 * classification), found by a number that packed them as `(status * 32 + grpc + 1) << 1`. That
 * holds only for gRPC codes below 31 and numbers below 2^30: grpc-status is read as up to 10
 * digits (proxy/h2/grpc-status.ts), so `:status 200` + `grpc-status: 32` had the key of `:status
 * 201` + `grpc-status: 0` and `grpc-status: 4294967296` (the 32-bit shift wrapped) the key of
 * `grpc-status: 0`: whichever came first named the series and the other's responses were counted
 * in it, under a status the wire never carried. Both engines (the native engine's C++ counts are
 * merged into the same series by the same key). Real node:http2 client and server, /metrics
 * scraped.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet, parseMetrics } from './support/metrics-scrape.js';
import { until } from './support/until.js';

/** What the backend answers per path: HTTP status and grpc-status trailer. */
const ANSWERS: Record<string, { status: number; grpc: string }> = {
  '/pkg.Svc/A': { status: 201, grpc: '0' },
  '/pkg.Svc/B': { status: 200, grpc: '32' },
  '/pkg.Svc/C': { status: 200, grpc: '0' },
  '/pkg.Svc/D': { status: 200, grpc: '4294967296' },
};

describe.each(ENGINES)('review11: one response series per status and grpc-status as sent (%s engine)', (engine) => {
  let backend: http2.Http2Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http2.createServer();
    backend.on('stream', (stream, headers) => {
      const answer = ANSWERS[String(headers[':path'])]!;
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': answer.status, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': answer.grpc }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('a gRPC code of 31 or more, or past 32 bits, gets its own series, not another status\'s', async () => {
    const client = http2.connect(`http://${sidecar.forwards[0]!.address}`);
    try {
      for (const path of Object.keys(ANSWERS)) {
        await new Promise<void>((resolve, reject) => {
          const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
          req.on('response', () => undefined);
          req.on('data', () => undefined);
          req.on('end', resolve);
          req.on('error', reject);
          req.end(Buffer.from([0, 0, 0, 0, 0]));
        });
      }
    } finally {
      client.close();
    }
    const series = async () =>
      parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body)
        .filter((s) => s.name === 'response_total')
        .map((s) => `${s.labels.status_code}/${s.labels.grpc_status}/${s.labels.classification}=${s.value}`)
        .sort();
    let seen: string[] = [];
    await until('four responses are counted', async () => {
      seen = await series();
      return seen.reduce((n, s) => n + Number(s.slice(s.indexOf('=') + 1)), 0) >= 4;
    });
    // gRPC codes outside 0-16 are not on the failure list (DESIGN §6): success, as the event says.
    expect(seen).toEqual(['200/0/success=1', '200/32/success=1', '200/4294967296/success=1', '201/0/success=1']);
  }, 60_000);
});
