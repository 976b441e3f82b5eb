/**
 * The tap port's gRPC server (proxy/tap-grpc-server.ts) on 127.0.0.1 port 0 with one
 * server-streaming test method, and raw node:http2 clients for it, as any peer in the cluster
 * can reach a sidecar's tap port. One fixture for the tap port's wire tests (review8, review9,
 * stalled and compressed requests), each of which had its own copy. Everything opened is closed
 * after each test.
 */
import http2 from 'node:http2';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach } from 'vitest';
import { createTapGrpcServer, type GrpcCall, type GrpcMethod, type TapGrpcServer } from '../../proxy/tap-grpc-server.js';

/** The one method served: a tap-shaped server stream whose request is JSON. */
export const TEST_METHOD = '/test.Tap/Stream';

type ServerOptions = Omit<Parameters<typeof createTapGrpcServer>[1], 'maxConcurrentStreams' | 'onBoundHit'>;

export interface TapGrpcPort {
  /** Serves TEST_METHOD with `handle`; `bounds` collects the bounds the server reports hit. */
  serve(handle: (call: GrpcCall<unknown>) => void, options?: ServerOptions): Promise<{ port: number; bounds: string[]; server: TapGrpcServer }>;
  /** A raw HTTP/2 client connection (errors ignored: the tests look at statuses and closes). */
  session(port: number, options?: http2.ClientSessionOptions): http2.ClientHttp2Session;
}

/** Call at the top of a test file: registers the afterEach that closes servers and sessions. */
export function useTapGrpcPort(): TapGrpcPort {
  const listeners: Server[] = [];
  const servers: TapGrpcServer[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await s.close(100);
    for (const l of listeners.splice(0)) await new Promise<void>((resolve) => l.close(() => resolve()));
  });
  return {
    async serve(handle, options = {}) {
      const bounds: string[] = [];
      const methods = new Map<string, GrpcMethod>([[TEST_METHOD, { parse: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown, handle }]]);
      const server = createTapGrpcServer(methods, { maxConcurrentStreams: 256, ...options, onBoundHit: (b) => bounds.push(b) });
      servers.push(server);
      const listener = createServer((socket) => {
        socket.on('error', () => {});
        server.inject(socket);
      });
      listeners.push(listener);
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      return { port: (listener.address() as AddressInfo).port, bounds, server };
    },
    session(port, options = {}) {
      const s = http2.connect(`http://127.0.0.1:${port}`, options);
      s.on('error', () => {});
      sessions.push(s);
      return s;
    },
  };
}

/** A gRPC frame: flag byte, 4-byte length (declared; may differ from the bytes given), bytes. */
export function grpcFrame(body: Buffer, o: { flag?: number; declared?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head[0] = o.flag ?? 0;
  head.writeUInt32BE(o.declared ?? body.length, 1);
  return Buffer.concat([head, body]);
}
