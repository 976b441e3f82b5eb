/**
 * The HTTP/2 observer on real @grpc/grpc-js traffic: all four call kinds, error status with a
 * percent-encoded message, a trailers-only response, and compressed messages.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '../observe.js';
import { captureConversations } from './test-support/capture.js';
import { feedConversation, seededRandom, summarize, type LoggedChunk, type Recording } from './test-support/recording-sink.js';

const identity = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

const SERVICE: grpc.ServiceDefinition = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, ...identity },
  serverStream: { path: '/test.Echo/ServerStream', requestStream: false, responseStream: true, ...identity },
  clientStream: { path: '/test.Echo/ClientStream', requestStream: true, responseStream: false, ...identity },
  bidi: { path: '/test.Echo/Bidi', requestStream: true, responseStream: true, ...identity },
  fail: { path: '/test.Echo/Fail', requestStream: false, responseStream: false, ...identity },
  missing: { path: '/test.Echo/Missing', requestStream: false, responseStream: false, ...identity },
};
/** The server implements every method but `missing` (-> UNIMPLEMENTED, trailers-only). */
const SERVER_SERVICE: grpc.ServiceDefinition = { ...SERVICE };
delete (SERVER_SERVICE as Record<string, unknown>).missing;

const FAIL_MESSAGE = 'bad thing: 100% ünïcode\nline two';

let server: grpc.Server;
let serverPort: number;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(SERVER_SERVICE, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
    },
    serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt8(0);
      for (let i = 0; i < n; i++) call.write(Buffer.alloc(10 + i, i));
      call.end();
    },
    clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let count = 0;
      call.on('data', () => count++);
      call.on('end', () => cb(null, Buffer.from(`count=${count}`)));
    },
    bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.concat([b, b])));
      call.on('end', () => call.end());
    },
    fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: FAIL_MESSAGE });
    },
  });
  serverPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

const Client = grpc.makeGenericClientConstructor(SERVICE, 'Echo');
type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Runs `fn` with a client whose channel goes through the tee; returns the one connection. */
async function capture(fn: (client: AnyClient) => Promise<void>, options: grpc.ClientOptions = {}): Promise<LoggedChunk[]> {
  const conns = await captureConversations(serverPort, async (port) => {
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as unknown as AnyClient;
    try {
      await fn(client);
    } finally {
      client.close();
    }
  });
  expect(conns).toHaveLength(1);
  return conns[0]!;
}

function unary(client: AnyClient, method: string, req: Buffer): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> {
  return new Promise((resolve) => {
    client[method]!(req, (err: grpc.ServiceError | null, res?: Buffer) => resolve({ err, res }));
  });
}

function collect(call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    call.on('data', (b: Buffer) => out.push(b));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

function checkSplits(log: LoggedChunk[], whole: Recording): void {
  for (let seed = 1; seed <= 4; seed++) {
    const split = feedConversation(log, { random: seededRandom(seed) });
    expect(split.calls).toEqual(whole.calls);
    expect(split.ended.map(summarize)).toEqual(whole.ended.map(summarize));
  }
}

function onlyCall(log: LoggedChunk[]): Exchange {
  const rec = feedConversation(log);
  expect(rec.giveUps).toEqual([]);
  expect(rec.ended).toHaveLength(1);
  checkSplits(log, rec);
  return rec.ended[0]!;
}

describe('HTTP/2 observer on real gRPC traffic (@grpc/grpc-js)', () => {
  it('unary: protocol grpc, path, one message each way, grpc-status 0 from trailers', async () => {
    const log = await capture(async (client) => {
      const { err, res } = await unary(client, 'unary', Buffer.from('ping'));
      expect(err).toBeNull();
      expect(res!.toString()).toBe('echo:ping');
    });
    const ex = onlyCall(log);
    expect(ex).toMatchObject({
      protocol: 'grpc',
      method: 'POST',
      path: '/test.Echo/Unary',
      status: 200,
      requestMessages: 1,
      responseMessages: 1,
      requestBytes: 5 + 4,
      responseBytes: 5 + 9,
      grpcStatus: 0,
      requestCompressed: false,
      responseCompressed: false,
    });
    expect(ex.error).toBeUndefined();
    expect(ex.requestHeaders).toContainEqual(['content-type', 'application/grpc']);
    expect(ex.trailers.find(([n]) => n === 'grpc-status')).toEqual(['grpc-status', '0']);
  });

  it('server streaming: counts every response message', async () => {
    const log = await capture(async (client) => {
      const msgs = await collect(client.serverStream!(Buffer.from([7])) as grpc.ClientReadableStream<Buffer>);
      expect(msgs).toHaveLength(7);
    });
    const ex = onlyCall(log);
    // Messages of 10..16 bytes, each with a 5-byte prefix.
    expect(ex).toMatchObject({ requestMessages: 1, responseMessages: 7, grpcStatus: 0, responseBytes: 7 * 5 + 91 });
  });

  it('client streaming: counts every request message', async () => {
    const log = await capture(async (client) => {
      await new Promise<void>((resolve, reject) => {
        const call = client.clientStream!((err: grpc.ServiceError | null, res?: Buffer) => {
          if (err) return reject(err);
          expect(res!.toString()).toBe('count=25');
          resolve();
        }) as grpc.ClientWritableStream<Buffer>;
        for (let i = 0; i < 25; i++) call.write(Buffer.alloc(i * 100, 'z'));
        call.end();
      });
    });
    const ex = onlyCall(log);
    expect(ex).toMatchObject({ requestMessages: 25, responseMessages: 1, grpcStatus: 0 });
    expect(ex.requestBytes).toBe(25 * 5 + 100 * ((24 * 25) / 2));
  });

  it('bidi streaming: counts both directions', async () => {
    const log = await capture(async (client) => {
      const call = client.bidi!() as grpc.ClientDuplexStream<Buffer, Buffer>;
      const done = collect(call);
      for (let i = 0; i < 12; i++) call.write(Buffer.from(`m${i}`));
      call.end();
      expect(await done).toHaveLength(12);
    });
    expect(onlyCall(log)).toMatchObject({ requestMessages: 12, responseMessages: 12, grpcStatus: 0 });
  });

  it('error status: grpc-status and the percent-decoded grpc-message', async () => {
    const log = await capture(async (client) => {
      const { err } = await unary(client, 'fail', Buffer.from('x'));
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toBe(FAIL_MESSAGE);
    });
    const ex = onlyCall(log);
    expect(ex).toMatchObject({ grpcStatus: grpc.status.INVALID_ARGUMENT, grpcMessage: FAIL_MESSAGE, status: 200 });
    // On the wire the message is percent-encoded.
    expect(ex.trailers.concat(ex.responseHeaders).find(([n]) => n === 'grpc-message')?.[1]).toMatch(/%/);
  });

  it('trailers-only response (UNIMPLEMENTED): status from the single HEADERS', async () => {
    const log = await capture(async (client) => {
      const { err } = await unary(client, 'missing', Buffer.from('x'));
      expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
    });
    const ex = onlyCall(log);
    expect(ex).toMatchObject({ path: '/test.Echo/Missing', status: 200, grpcStatus: grpc.status.UNIMPLEMENTED, responseMessages: 0 });
    expect(ex.grpcMessage).toContain('Missing');
    expect(ex.responseHeaders.find(([n]) => n === 'grpc-status')).toEqual(['grpc-status', '12']);
  });

  it('sets the compressed flag when messages are gzip-compressed', async () => {
    const log = await capture(
      async (client) => {
        const { err } = await unary(client, 'unary', Buffer.alloc(2000, 'a'));
        expect(err).toBeNull();
      },
      { 'grpc.default_compression_algorithm': 2 },
    );
    const ex = onlyCall(log);
    expect(ex).toMatchObject({ requestMessages: 1, requestCompressed: true, grpcStatus: 0 });
    expect(ex.requestBytes).toBeLessThan(2000);
  });

  it('several calls on one channel share the HPACK state and all decode', async () => {
    const log = await capture(async (client) => {
      for (let i = 0; i < 20; i++) {
        const { err } = await unary(client, i % 2 ? 'unary' : 'fail', Buffer.from(`call ${i}`));
        expect(err === null).toBe(i % 2 === 1);
      }
    });
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => ex.grpcStatus)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 0 : 3)));
    checkSplits(log, rec);
  });
});
