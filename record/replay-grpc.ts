/**
 * Sends gRPC exchanges with @grpc/grpc-js and an identity codec (bytes in, bytes out), so
 * no .proto is needed. The call kind follows the recorded message counts (1/≤1 unary,
 * 1/many server streaming, many/≤1 client streaming, otherwise bidi); messages go out in
 * their recorded order, at their recorded offsets when the recording has them.
 * Recorded compressed messages are decompressed first (grpc-js frames what it is given).
 */
import * as grpc from '@grpc/grpc-js';
import { gunzipSync, inflateSync } from 'node:zlib';
import { MeshtapError } from '../common/index.js';
import type { HeaderList } from '../tap-protocol/index.js';
import type { ReplayRequest, ReplayResponse } from './replay-types.js';

/** Metadata grpc-js sets itself (or refuses): never copied from the recording. */
export const GRPC_RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-type', 'te', 'user-agent', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-timeout',
  'content-length', 'accept-encoding', 'grpc-status', 'grpc-message', 'grpc-status-details-bin',
]);

export type GrpcCallKind = 'unary' | 'server-streaming' | 'client-streaming' | 'bidi-streaming';

const identity = (b: Buffer): Buffer => b;

/** The call kind that reproduces a recorded exchange's message pattern. */
export function grpcCallKind(requestCount: number, responseCount: number): GrpcCallKind {
  if (requestCount === 1) return responseCount <= 1 ? 'unary' : 'server-streaming';
  if (requestCount > 1 && responseCount <= 1) return 'client-streaming';
  return 'bidi-streaming';
}

/**
 * Most bytes one recorded message may decompress to. A recording is input like any file: a few
 * MiB of gzip that inflate to GiBs (a recorded or hand-made "zip bomb") took replay's memory and
 * thread; grpc-js itself refuses received messages over 4 MiB by default.
 */
export const MAX_DECOMPRESSED_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Decompresses one payload by the `grpc-encoding` it was sent with. */
export function decompressGrpc(data: Buffer, compressed: boolean, encoding: string | undefined): Buffer {
  if (!compressed) return data;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new MeshtapError('MT_REPLAY_GRPC_ENCODING', `a compressed message uses encoding '${encoding ?? 'none'}', which replay cannot decode`);
  }
  const options = { maxOutputLength: MAX_DECOMPRESSED_MESSAGE_BYTES };
  try {
    return encoding === 'gzip' ? gunzipSync(data, options) : inflateSync(data, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    throw new MeshtapError('MT_REPLAY_GRPC_TOO_LARGE', `a compressed message decompresses to more than ${MAX_DECOMPRESSED_MESSAGE_BYTES} bytes; replay does not send or compare it`, { cause: err });
  }
}

function toMetadata(headers: HeaderList): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [n, v] of headers) {
    const name = n.toLowerCase();
    if (GRPC_RESERVED_HEADERS.has(name) || name.startsWith(':')) continue;
    if (name.endsWith('-bin')) md.add(name, Buffer.from(v, 'base64'));
    else md.add(name, v);
  }
  return md;
}

function fromMetadata(md: grpc.Metadata): HeaderList {
  const out: HeaderList = [];
  for (const name of Object.keys(md.getMap())) {
    for (const v of md.get(name)) out.push([name, Buffer.isBuffer(v) ? v.toString('base64') : String(v)]);
  }
  return out;
}

/** One gRPC client per target address (`host:port`). */
export interface GrpcReplayClient {
  send(req: ReplayRequest, requestEncoding: string | undefined, responseCount: number): Promise<ReplayResponse>;
  close(): void;
}

export function createGrpcReplayClient(address: string): GrpcReplayClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const send = (req: ReplayRequest, requestEncoding: string | undefined, responseCount: number): Promise<ReplayResponse> =>
    new Promise((resolve, reject) => {
      let payloads: Buffer[];
      try {
        payloads = req.messages.map((m) => decompressGrpc(m.data, m.compressed, requestEncoding));
      } catch (err) {
        reject(err);
        return;
      }
      const start = performance.now();
      const kind = grpcCallKind(payloads.length, responseCount);
      const md = toMetadata(req.headers);
      const options: grpc.CallOptions = { deadline: Date.now() + req.timeoutMs };
      if (req.authority) options.host = req.authority;
      const messages: Buffer[] = [];
      let headers: HeaderList = [];
      let latencyMs = 0;
      let done = false;
      const finish = (status: grpc.StatusObject): void => {
        if (done) return;
        done = true;
        resolve({
          headers,
          trailers: fromMetadata(status.metadata),
          body: Buffer.alloc(0),
          bodyTruncated: false,
          messages,
          grpcStatus: status.code,
          grpcMessage: status.details,
          latencyMs: latencyMs || performance.now() - start,
          durationMs: performance.now() - start,
        });
      };
      const onMetadata = (m: grpc.Metadata): void => {
        latencyMs = performance.now() - start;
        headers = fromMetadata(m);
      };
      let call: NodeJS.EventEmitter;
      const unaryCallback = (_err: grpc.ServiceError | null, value?: Buffer): void => {
        if (value) messages.push(value);
      };
      const timers: NodeJS.Timeout[] = [];
      const writeAll = (w: grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): void => {
        let lastAt = 0;
        payloads.forEach((p, i) => {
          const at = req.messages[i]!.atMs;
          if (at === undefined) {
            w.write(p);
            return;
          }
          lastAt = Math.max(lastAt, at);
          timers.push(setTimeout(() => !done && w.write(p), at));
        });
        if (timers.length === 0) w.end();
        else timers.push(setTimeout(() => !done && w.end(), lastAt));
      };
      const path = req.path;
      if (kind === 'unary') {
        call = client.makeUnaryRequest(path, identity, identity, payloads[0]!, md, options, unaryCallback);
      } else if (kind === 'server-streaming') {
        const c = client.makeServerStreamRequest(path, identity, identity, payloads[0]!, md, options);
        c.on('data', (m: Buffer) => messages.push(m));
        call = c;
      } else if (kind === 'client-streaming') {
        const c = client.makeClientStreamRequest(path, identity, identity, md, options, unaryCallback);
        writeAll(c);
        call = c;
      } else {
        const c = client.makeBidiStreamRequest(path, identity, identity, md, options);
        c.on('data', (m: Buffer) => messages.push(m));
        writeAll(c);
        call = c;
      }
      call.on('metadata', onMetadata);
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        for (const t of timers) clearTimeout(t);
        // Unary callbacks run before 'status'; streaming 'data' may still be queued: defer a tick.
        setImmediate(() => finish(s));
      });
    });
  return { send, close: () => client.close() };
}
