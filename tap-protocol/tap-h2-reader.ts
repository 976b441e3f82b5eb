/**
 * The tap stream's batches read with node:http2 directly, for readers that take them as bytes
 * (TapStream.wire: `meshtap tap`). grpc-js's client passes each message through five layers of
 * call objects and an object-mode stream: replaying a busy tap (15k events/s, 35 per batch) into a
 * bare grpc-js reader cost 13.3 µs of CPU per event, the same bytes read here 9.6, and start-up
 * (no grpc-js to load) half. Only what a tap needs of gRPC over HTTP/2 is here: one
 * server-streaming call without TLS or compression, length-prefixed messages, the status from
 * trailers (or a trailers-only answer), and failures as grpc-js shapes them (`code`, `details`),
 * so callers (isSidecarStopped, the CLI's error lines) read them the same way. Every other reader
 * (the tap API's fan-out, `messages`) keeps grpc-js.
 */
import type * as Http2 from 'node:http2';
import { createRequire } from 'node:module';
import { GRPC_FRAME_HEADER_BYTES } from './constants.js';
import { createGrpcMessageSplitter } from './grpc-message-splitter.js';
import { GRPC_STATUS } from './grpc-lazy.js';

let http2Module: typeof Http2 | undefined;
/** node:http2 at the first call: a sidecar imports this file (through tap-wire) but never reads a tap stream (test/native-startup-modules). */
const http2 = (): typeof Http2 => (http2Module ??= createRequire(import.meta.url)('node:http2') as typeof Http2);

const { CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAUTHENTICATED } = GRPC_STATUS;

/** Most bytes one message may have (grpc.max_receive_message_length of the grpc-js reader). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Largest DATA frame the sidecar may send: a batch in one or two reads, not four or more. */
const MAX_FRAME_BYTES = 1024 * 1024;
/** Reads (of one or more messages) held for a reader that is behind before the HTTP/2 stream is paused. */
const MAX_HELD_READS = 64;

/** A failure in the shape of a grpc-js ServiceError. */
export type TapCallError = Error & { code: number; details: string };

function callError(code: number, details: string): TapCallError {
  return Object.assign(new Error(`${code} ${details}`), { code, details });
}

/** What grpc-js makes of an HTTP status without a gRPC status (the gRPC HTTP mapping). */
function codeOfHttpStatus(status: number): number {
  if (status === 400) return INTERNAL;
  if (status === 401) return UNAUTHENTICATED;
  if (status === 403) return GRPC_STATUS.PERMISSION_DENIED;
  if (status === 404) return GRPC_STATUS.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GRPC_STATUS.UNAVAILABLE;
  return UNKNOWN;
}

/** What grpc-js makes of an RST_STREAM without a status. */
function codeOfReset(rstCode: number): number {
  const c = http2().constants;
  if (rstCode === c.NGHTTP2_REFUSED_STREAM) return GRPC_STATUS.UNAVAILABLE;
  if (rstCode === c.NGHTTP2_CANCEL) return CANCELLED;
  if (rstCode === c.NGHTTP2_ENHANCE_YOUR_CALM) return GRPC_STATUS.RESOURCE_EXHAUSTED;
  if (rstCode === c.NGHTTP2_INADEQUATE_SECURITY) return GRPC_STATUS.PERMISSION_DENIED;
  return INTERNAL;
}

function decodeGrpcMessage(text: string | string[] | undefined): string {
  const t = Array.isArray(text) ? text.join(',') : (text ?? '');
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

export interface H2ObserveCall {
  /** The response messages, those of one HTTP/2 read at a time; throws a TapCallError on failure. */
  messages: AsyncIterable<Buffer[]>;
  cancel(): void;
}

/**
 * Calls `path` at `address` (`host:port`) with one JSON request message and the given metadata;
 * the response messages come as they are read (and are held until `messages` is read: the call
 * starts now, so nothing sent after this returns is missed).
 */
export function openH2ObserveCall(address: string, path: string, request: Buffer, metadata: Record<string, string>, deadlineMs?: number): H2ObserveCall {
  let session: Http2.ClientHttp2Session | undefined;
  let stream: Http2.ClientHttp2Stream | undefined;
  let cancelled = false;
  const held: Buffer[][] = [];
  let failure: TapCallError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sessionError: Error | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = (err?: TapCallError): void => {
    if (ended) return;
    ended = true;
    failure = err;
    if (timer) clearTimeout(timer);
    stream?.close(http2().constants.NGHTTP2_CANCEL);
    session?.destroy();
    notify();
  };

  const start = (): void => {
    // The default 64 KiB flow-control window, as grpc-js's: a reader that stops reading stops the
    // sidecar's writes soon, which is how the sidecar knows to drop early (tap shedding).
    session = http2().connect(`http://${address}`, { settings: { maxFrameSize: MAX_FRAME_BYTES } });
    session.on('error', (err: Error) => {
      sessionError = err;
      finish(callError(GRPC_STATUS.UNAVAILABLE, err.message));
    });
    const headers: Http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    };
    if (deadlineMs) headers['grpc-timeout'] = `${Math.max(1, Math.ceil(deadlineMs))}m`;
    const s = session.request(headers);
    stream = s;
    let status: number | undefined;
    let details = '';
    let httpStatus = 0;
    const takeStatus = (h: Http2.IncomingHttpHeaders): void => {
      const v = h['grpc-status'];
      if (v !== undefined && status === undefined) {
        status = Number(Array.isArray(v) ? v[0] : v);
        details = decodeGrpcMessage(h['grpc-message']);
      }
    };
    s.on('response', (h) => {
      httpStatus = Number(h[':status']);
      takeStatus(h);
    });
    s.on('trailers', takeStatus);
    // Length-prefixed messages; a message may span reads.
    const splitter = createGrpcMessageSplitter(MAX_MESSAGE_BYTES);
    s.on('data', (chunk: Buffer) => {
      const { messages: out, error } = splitter.push(chunk);
      if (error?.kind === 'compressed') return finish(callError(INTERNAL, 'the sidecar sent a compressed tap message'));
      if (error) return finish(callError(GRPC_STATUS.RESOURCE_EXHAUSTED, `received a tap message of ${error.length} bytes (most ${MAX_MESSAGE_BYTES})`));
      if (out.length > 0) {
        held.push(out);
        if (held.length >= MAX_HELD_READS) s.pause();
        notify();
      }
    });
    // A stream error is followed by 'close', which decides with everything known.
    let streamError: Error | undefined;
    s.on('error', (err: Error) => (streamError = err));
    s.on('close', () => {
      if (ended) return;
      if (status === 0) return finish();
      if (status !== undefined) return finish(callError(status, details));
      // No answer at all: the sidecar could not be reached (or went away before answering).
      if (httpStatus === 0) return finish(callError(GRPC_STATUS.UNAVAILABLE, sessionError?.message ?? streamError?.message ?? 'no answer'));
      if (s.rstCode !== undefined && s.rstCode !== http2().constants.NGHTTP2_NO_ERROR) return finish(callError(codeOfReset(s.rstCode), `stream reset (code ${s.rstCode})`));
      if (httpStatus !== 0 && httpStatus !== 200) return finish(callError(codeOfHttpStatus(httpStatus), `HTTP status ${httpStatus}`));
      if (streamError) return finish(callError(GRPC_STATUS.UNAVAILABLE, streamError.message));
      finish(callError(UNKNOWN, 'no status received'));
    });
    const prefix = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
    prefix.writeUInt32BE(request.length, 1);
    s.end(Buffer.concat([prefix, request]));
    if (deadlineMs) timer = setTimeout(() => finish(callError(DEADLINE_EXCEEDED, 'deadline exceeded')), deadlineMs);
  };

  start();
  async function* messages(): AsyncGenerator<Buffer[]> {
    try {
      for (;;) {
        if (cancelled) throw callError(CANCELLED, 'cancelled on client');
        const batch = held.shift();
        if (batch !== undefined) {
          if (held.length === 0 && stream?.isPaused()) stream.resume();
          yield batch;
          continue;
        }
        if (ended) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      finish(cancelled ? callError(CANCELLED, 'cancelled on client') : undefined);
    }
  }
  return {
    messages: messages(),
    cancel() {
      cancelled = true;
      finish(callError(CANCELLED, 'cancelled on client'));
    },
  };
}
