/**
 * The tap port's gRPC server (tap-grpc-server.ts) and compressed requests (review8 F6). The server
 * takes requests uncompressed only (a tap request is a few hundred bytes of JSON). A request
 * message compressed by a client that said so (`grpc-encoding: gzip`) was refused with grpc-js's
 * "…"grpc-encoding" header was identity", which is false and does not say what to do; and every
 * answer claimed `grpc-accept-encoding: identity,deflate,gzip`, so a grpc-js client set to
 * compress kept compressing. Now: a refusal that says compression is not supported, and an
 * accept-encoding that is true, which grpc-js clients follow from their next call on.
 * Real grpc-js and node:http2 clients on 127.0.0.1 port 0.
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_METHOD as STREAM, useTapGrpcPort } from '../test/support/tap-grpc-port.js';

const tapPort = useTapGrpcPort();
let client: grpc.Client | undefined;

afterEach(() => {
  client?.close();
  client = undefined;
});

const serve = async (...a: Parameters<typeof tapPort.serve>): Promise<number> => (await tapPort.serve(...a)).port;

describe('tap gRPC server: compressed requests (review8 F6)', () => {
  it('regression (a gzip request was told its grpc-encoding header was identity): it is refused UNIMPLEMENTED saying compression is not supported, and the answer says identity is all the server takes', async () => {
    let called = false;
    const port = await serve(() => (called = true));
    const s = tapPort.session(port);
    for (const encoding of ['gzip', 'deflate', 'snappy']) {
      const req = s.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': encoding });
      req.on('error', () => {});
      let head: http2.IncomingHttpHeaders = {};
      const got = new Promise<http2.IncomingHttpHeaders>((resolve) => {
        // Response headers, then the status in trailers (grpc-js clients learn accepted encodings from headers only).
        req.on('response', (h) => (head = h));
        req.on('trailers', resolve);
      });
      const body = gzipSync('{}');
      const prefix = Buffer.alloc(5);
      prefix[0] = 1;
      prefix.writeUInt32BE(body.length, 1);
      req.end(Buffer.concat([prefix, body]));
      const status = await got;
      expect(status['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(decodeURIComponent(String(status['grpc-message']))).toBe(
        `MT_TAP_COMPRESSED: the tap port takes request messages uncompressed only (this one came with grpc-encoding ${encoding}); send it uncompressed`,
      );
      expect(head).toMatchObject({ ':status': 200, 'grpc-accept-encoding': 'identity' });
    }
    expect(called).toBe(false);
  });

  it('a grpc-js client set to compress with gzip: its first call is refused with that message, and its next call, uncompressed as the answer told it, is served', async () => {
    const requests: unknown[] = [];
    const port = await serve((k) => {
      requests.push(k.request);
      k.write('[1]');
      k.end();
    });
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    const c = client;
    const callOnce = () =>
      new Promise<{ code: number; details: string; messages: string[] }>((resolve) => {
        const call = c.makeServerStreamRequest(STREAM, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('{"n":1}'), new grpc.Metadata(), {});
        const messages: string[] = [];
        call.on('data', (b: Buffer) => messages.push(b.toString('utf8')));
        call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details, messages }));
        call.on('status', (st: grpc.StatusObject) => {
          if (st.code === grpc.status.OK) resolve({ code: st.code, details: st.details, messages });
        });
      });
    const first = await callOnce();
    expect(first).toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: 'MT_TAP_COMPRESSED: the tap port takes request messages uncompressed only (this one came with grpc-encoding gzip); send it uncompressed' });
    const second = await callOnce();
    expect(second).toEqual({ code: grpc.status.OK, details: 'OK', messages: ['[1]'] });
    expect(requests).toEqual([{ n: 1 }]);
  });
});
