/**
 * A real grpc-js server with raw (Buffer) messages, so no .proto is needed: unary, server-,
 * client- and bidi-streaming methods plus controllable error statuses, to drive real gRPC
 * traffic through the sidecar.
 *
 * - `Unary`: echoes; a request `fail:CODE:MESSAGE` fails at once (a trailers-only response).
 * - `Server`: request `N` → N messages `msg-i`, then, when the request is `N:CODE`, that status.
 * - `Client`: replies with all messages joined by `|`; when one was `fail:CODE:MESSAGE`, fails
 *   with that status once the client has ended (nothing sent before: a trailers-only response).
 * - `Bidi`: echoes each message as it comes; `fail:CODE:MESSAGE` fails the call there (the
 *   status in trailers after the echoes).
 */
import * as grpc from '@grpc/grpc-js';

const raw = (b: Buffer) => b;
const method = (name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/meshtap.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

export const ECHO_SERVICE = {
  Unary: method('Unary', false, false),
  Server: method('Server', false, true),
  Client: method('Client', true, false),
  Bidi: method('Bidi', true, true),
} satisfies grpc.ServiceDefinition;

function statusError(code: number, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export interface GrpcEcho {
  readonly port: number;
  close(): Promise<void>;
}

/** `options`: grpc-js server options (e.g. `grpc.default_compression_algorithm` to compress answers). */
export async function startGrpcEcho(options: grpc.ServerOptions = {}): Promise<GrpcEcho> {
  const server = new grpc.Server(options);
  server.addService(ECHO_SERVICE, {
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      const text = call.request.toString();
      const m = /^fail:(\d+):(.*)$/.exec(text);
      if (m) return cb(statusError(Number(m[1]), m[2]));
      const md = new grpc.Metadata();
      md.set('x-initial', 'yes');
      call.sendMetadata(md);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'done');
      cb(null, call.request, trailer);
    },
    Server(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const [n, code] = call.request.toString().split(':').map(Number);
      for (let i = 0; i < n; i++) call.write(Buffer.from(`msg-${i}`));
      if (code) call.emit('error', statusError(code, `failed after ${n}`));
      else call.end();
    },
    Client(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      const parts: string[] = [];
      call.on('data', (b: Buffer) => parts.push(b.toString()));
      call.on('end', () => {
        const m = parts.map((p) => /^fail:(\d+):(.*)$/.exec(p)).find((x) => x !== null);
        if (m) cb(statusError(Number(m[1]), m[2]!));
        else cb(null, Buffer.from(parts.join('|')));
      });
    },
    Bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', (b: Buffer) => {
        const m = /^fail:(\d+):(.*)$/.exec(b.toString());
        if (m) call.emit('error', statusError(Number(m[1]), m[2]!));
        else call.write(b);
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

/** A grpc-js client for the echo service at `address`. */
export function echoClient(address: string, options: grpc.ClientOptions = {}): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), options);
}
