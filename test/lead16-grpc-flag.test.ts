/**
 * review16: a gRPC message marked compressed (flag 1) under no grpc-encoding (a peer's protocol
 * error) was shown as its bytes: gzip a viewer inflated, reading the `password` the redaction could
 * not see. Such a body is withheld as a coded one meshtap cannot decode (`omitted: 'encoded'`); the
 * bytes forwarded are unchanged. Real sidecar processes on both engines, node:http2 on both ends.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

function frame(flag: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}
const ANSWER = frame(1, gzipSync('{"user":"ann","password":"hunter2-very-secret"}'));
const REQUEST = frame(0, Buffer.from([0x0a, 0x03, 0x61, 0x6e, 0x6e]));

describe.each(ENGINES)('lead16: a gRPC message marked compressed without grpc-encoding (%s engine)', (engine) => {
  let server: http2.Http2Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    server = http2.createServer();
    server.on('stream', (stream) => {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(ANSWER);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(server.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => server?.close(r));
  });

  it('the answer is withheld from the viewer (omitted encoded), the client reads its bytes unchanged', async () => {
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    const client = http2.connect(`http://${sidecar.forwards[0]!.address}`);
    try {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const req = client.request({ ':method': 'POST', ':path': '/e.E/Unary', 'content-type': 'application/grpc', te: 'trailers' });
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
        req.end(REQUEST);
      });
      expect(got.equals(ANSWER)).toBe(true);
      const [end] = await tap.waitForEnds(1);
      expect(end!.responseBody).toEqual({ size: ANSWER.length, truncated: true, encoding: 'utf8', data: '', omitted: 'encoded' });
      // The request's message (flag 0) is shown as sent.
      expect(Buffer.from(end!.requestBody!.data, end!.requestBody!.encoding).equals(REQUEST)).toBe(true);
    } finally {
      client.close();
      tap.close();
    }
  }, 60_000);
});
