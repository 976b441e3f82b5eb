/**
 * The tap service on the wire: gRPC method `/meshtap.tap.v2.Tap/Observe` (server streaming),
 * served by every sidecar on its tap port and called by the tap API and `meshtap tap --proxy`.
 *
 * Messages are JSON (content-subtype `application/grpc+json` in spirit): the event schema is
 * DESIGN §5's JSON, so tools read one format everywhere. The cost is paid only while someone taps.
 * The grant, when present, travels in the request metadata `meshtap-grant` as well as the body.
 *
 * Wire version 2 (the method's package says it): each response message is a *batch*, a JSON
 * array of TapMessages (up to TAP_BATCH_MAX_BYTES of JSON, or one message when a single one is
 * larger). A gRPC message per event was the largest cost of a live tap on the sidecar (a third of
 * its JS thread at ~10k events/s: grpc-js's per-message write path, HTTP/2 DATA frames, drain
 * callbacks); a batch of everything queued since the last write costs one. Version 1 (one
 * TapMessage per gRPC message) is not spoken any more: a v2 sidecar answers v1 callers with
 * FAILED_PRECONDITION `MT_TAP_WIRE: …`, and a v2 client turns a v1 sidecar's UNIMPLEMENTED into
 * the same code, so a mix of versions fails with a line that says what to upgrade.
 *
 * Within a batch each message is on a line of its own (`[m1,\nm2]`, batchText), and each event
 * message's JSON is exactly what JSON.stringify makes: `meshtap tap -o json` cuts events out of
 * the bytes and prints them without parsing (message-bytes.ts). Still a JSON array, so a reader
 * that parses batches (and a sidecar that joined with a bare `,`) interoperates: same version.
 */
import type * as grpc from '@grpc/grpc-js';
import { TAP_STREAMS_PER_CONNECTION, TAP_WIRE_VERSION } from './constants.js';
import { GRPC_STATUS, loadGrpc } from './grpc-lazy.js';
import { parseBatch, parseMessageBytes, splitBatch } from './message-bytes.js';
import { openH2ObserveCall } from './tap-h2-reader.js';
import type { TapMessage, TapRequest } from './tap-types.js';

/** The tap wire version this build speaks (the `vN` of the gRPC package). */
export { TAP_WIRE_VERSION };
export const TAP_OBSERVE_PATH = '/meshtap.tap.v2.Tap/Observe';
/** Unary: `{token}` → `{found}`; puts a `flushed` marker into the live stream whose flushToken it is. */
export const TAP_FLUSH_PATH = '/meshtap.tap.v2.Tap/Flush';
/** Longest flushToken a sidecar keeps. */
export const FLUSH_TOKEN_MAX_CHARS = 64;
/** The version 1 method, still routed by sidecars only to refuse it clearly. */
export const TAP_OBSERVE_PATH_V1 = '/meshtap.tap.v1.Tap/Observe';
/** Most JSON text one batch carries (a single larger message goes alone). */
export const TAP_BATCH_MAX_BYTES = 64 * 1024;
/** Most messages one batch carries. */
export const TAP_BATCH_MAX_MESSAGES = 1024;
/** What a v2 sidecar tells a v1 caller (gRPC FAILED_PRECONDITION). */
export const WIRE_TOO_OLD_DETAILS = `MT_TAP_WIRE: this sidecar speaks tap wire v${TAP_WIRE_VERSION}, the caller an older one: run the same meshtap version for the tap API / CLI as for the sidecars`;
export const GRANT_METADATA_KEY = 'meshtap-grant';

/**
 * Details of the status (UNAVAILABLE, as gRPC servers end calls when they shut down) a sidecar
 * ends its live taps with when it stops. Clients read the code prefix: the tap API reports the
 * pod as gone, `meshtap tap --proxy` says "the sidecar … stopped" and exits 0 (not a raw
 * RST_STREAM error).
 */
export const SIDECAR_STOPPED_DETAILS = 'MT_SIDECAR_STOPPED: the sidecar stopped';

/** Whether a tap stream failed because its sidecar stopped (SIDECAR_STOPPED_DETAILS). */
export function isSidecarStopped(err: unknown): boolean {
  const e = err as { code?: unknown; details?: unknown } | undefined;
  return e?.code === GRPC_STATUS.UNAVAILABLE && typeof e.details === 'string' && e.details.startsWith('MT_SIDECAR_STOPPED:');
}

const jsonSerialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const jsonDeserialize = <T>(bytes: Buffer): T => JSON.parse(bytes.toString('utf8')) as T;

/** A batch is serialized by the sidecar (batchText) and goes out as its UTF-8 bytes. */
const batchSerialize = (text: string): Buffer => Buffer.from(text, 'utf8');

/**
 * Joins the JSON texts of TapMessages into one batch: a JSON array with each message on its own
 * line (`[m1,\nm2,\nm3]`). Any JSON reader takes it as the array it is; a reader that passes
 * events through (message-bytes.ts) cuts it at the newlines without parsing it.
 */
export function batchText(messages: readonly string[]): string {
  return messages.length === 1 ? `[${messages[0]}]` : `[${messages.join(',\n')}]`;
}

export const TAP_SERVICE: grpc.ServiceDefinition = {
  Observe: {
    path: TAP_OBSERVE_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: jsonSerialize,
    requestDeserialize: (b: Buffer) => jsonDeserialize<TapRequest>(b),
    responseSerialize: batchSerialize,
    responseDeserialize: parseBatch,
    originalName: 'observe',
  },
  Flush: {
    path: TAP_FLUSH_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: jsonSerialize,
    requestDeserialize: (b: Buffer) => jsonDeserialize<FlushRequest>(b),
    responseSerialize: jsonSerialize,
    responseDeserialize: (b: Buffer) => jsonDeserialize<FlushReply>(b),
    originalName: 'flush',
  },
};

export interface FlushRequest {
  token: string;
}
export interface FlushReply {
  /** False when no live stream of this sidecar has that flushToken (ended, or never opened). */
  found: boolean;
}

/**
 * Asks the sidecar at `address` for a `flushed` marker in the live stream opened with `token`
 * as its flushToken; resolves with whether that stream was found. Rejects on a gRPC failure.
 */
export function flushTap(address: string, token: string, options: { deadlineMs?: number } = {}): Promise<boolean> {
  const client = new (loadGrpc().Client)(address, loadGrpc().credentials.createInsecure());
  const callOptions: grpc.CallOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
  return new Promise<boolean>((resolve, reject) => {
    client.makeUnaryRequest(TAP_FLUSH_PATH, jsonSerialize, (b: Buffer) => jsonDeserialize<FlushReply>(b), { token } satisfies FlushRequest, callOptions, (err, reply) => {
      client.close();
      if (err) reject(wireMismatch(err, address));
      else resolve(reply?.found === true);
    });
  });
}

/** The version 1 method: a sidecar registers it only to refuse it (WIRE_TOO_OLD_DETAILS). */
export const TAP_SERVICE_V1: grpc.ServiceDefinition = {
  Observe: {
    path: TAP_OBSERVE_PATH_V1,
    requestStream: false,
    responseStream: true,
    requestSerialize: jsonSerialize,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: jsonSerialize,
    responseDeserialize: (b: Buffer) => jsonDeserialize<unknown>(b),
    originalName: 'observe',
  },
};

export interface TapStream {
  /** Messages as they arrive. Ends when the sidecar ends the stream; throws a grpc ServiceError on failure. */
  messages: AsyncIterable<TapMessage>;
  /**
   * The same stream undecoded, where the source can give it: batches of messages' JSON bytes
   * (message-bytes.ts), for a reader that prints events as they came (`tap -o json`). Read
   * either this or `messages`, not both.
   */
  wire?: AsyncIterable<Buffer[]>;
  /** Cancels the stream (client went away). */
  cancel(): void;
}

/**
 * A tap stream read batch by batch (what the tap API's fan-out relays: one write per batch).
 * `messages` of openTapStream is the same stream flattened.
 */
export interface TapBatchStream {
  batches: AsyncIterable<TapMessage[]>;
  cancel(): void;
}

/**
 * A v1 sidecar does not know the v2 method (UNIMPLEMENTED naming it): say what to upgrade,
 * in the shape of a gRPC error (callers read `code` and `details`).
 */
function wireMismatch(err: unknown, address: string): unknown {
  const e = err as Partial<grpc.ServiceError>;
  if (e?.code === GRPC_STATUS.UNIMPLEMENTED && typeof e.details === 'string' && e.details.includes('meshtap.tap.')) {
    return Object.assign(new Error(`MT_TAP_WIRE: the sidecar at ${address} speaks an older tap wire (this meshtap speaks v${TAP_WIRE_VERSION}): run the same meshtap version on both ends`), {
      code: GRPC_STATUS.FAILED_PRECONDITION,
      details: `MT_TAP_WIRE: the sidecar at ${address} speaks an older tap wire (this meshtap speaks v${TAP_WIRE_VERSION}): run the same meshtap version on both ends`,
      metadata: e.metadata ?? new (loadGrpc().Metadata)(),
    });
  }
  return err;
}

/** A grpc-js channel (one connection) to a sidecar's tap port and the Observe calls it carries. */
interface ObserveChannel {
  readonly client: grpc.Client;
  calls: number;
}
const observeChannels = new Map<string, ObserveChannel[]>();

/**
 * A channel to `address` for one more Observe call: one with a free stream slot, else a new one
 * (grpc-js's local subchannel pool, so it is a connection of its own). A sidecar serves
 * TAP_STREAMS_PER_CONNECTION calls per connection, and one tap API fans out many taps to each
 * sidecar: shared by all (grpc-js's global pool), the 9th waited for a slot for good; one each,
 * taps x pods connections (64 taps x 1,000 pods: 64k). A channel closes with its last call.
 */
function takeObserveChannel(address: string): { client: grpc.Client; release(): void } {
  let channels = observeChannels.get(address);
  if (!channels) observeChannels.set(address, (channels = []));
  let ch = channels.find((c) => c.calls < TAP_STREAMS_PER_CONNECTION);
  if (!ch) {
    ch = {
      client: new (loadGrpc().Client)(address, loadGrpc().credentials.createInsecure(), {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.use_local_subchannel_pool': 1,
      }),
      calls: 0,
    };
    channels.push(ch);
  }
  const taken = ch;
  taken.calls++;
  let released = false;
  return {
    client: taken.client,
    release() {
      if (released) return;
      released = true;
      if (--taken.calls > 0) return;
      taken.client.close();
      const open = observeChannels.get(address) ?? [];
      if (open.includes(taken)) open.splice(open.indexOf(taken), 1);
      if (open.length === 0) observeChannels.delete(address);
    },
  };
}

/** Observe channels open now, by sidecar address (tests: how many connections the calls took). */
export function observeChannelCounts(): Map<string, number[]> {
  return new Map([...observeChannels].map(([address, chs]) => [address, chs.map((c) => c.calls)]));
}

/** One Observe call, its batches as the bytes that came (decoded by the caller). */
function openObserveCall(address: string, request: TapRequest, options: { deadlineMs?: number }): { raw: AsyncIterable<Buffer>; cancel(): void } {
  const { client, release } = takeObserveChannel(address);
  const metadata = new (loadGrpc().Metadata)();
  if (request.grant) metadata.set(GRANT_METADATA_KEY, request.grant);
  const callOptions: grpc.CallOptions = {};
  if (options.deadlineMs) callOptions.deadline = Date.now() + options.deadlineMs;
  const call = client.makeServerStreamRequest(TAP_OBSERVE_PATH, jsonSerialize, (b: Buffer) => b, request, metadata, callOptions);
  call.on('end', release);
  call.on('error', release);
  const cancel = (): void => {
    call.cancel();
    release();
  };
  async function* raw(): AsyncGenerator<Buffer> {
    try {
      for await (const b of call as AsyncIterable<Buffer>) yield b;
    } catch (err) {
      throw wireMismatch(err, address);
    } finally {
      // Left early (a reader stopped, or a batch did not decode): end the call too.
      cancel();
    }
  }
  return { raw: raw(), cancel };
}

/** Opens a tap stream to one sidecar's tap port (`host:port`), batch by batch. */
export function openTapBatchStream(address: string, request: TapRequest, options: { deadlineMs?: number } = {}): TapBatchStream {
  const c = openObserveCall(address, request, options);
  async function* batches(): AsyncGenerator<TapMessage[]> {
    for await (const b of c.raw) yield parseBatch(b);
  }
  return { batches: batches(), cancel: c.cancel };
}

/** Opens a tap stream to one sidecar's tap port (`host:port`). */
export function openTapStream(address: string, request: TapRequest, options: { deadlineMs?: number } = {}): TapStream {
  const c = openObserveCall(address, request, options);
  async function* messages(): AsyncGenerator<TapMessage> {
    for await (const b of c.raw) yield* parseBatch(b);
  }
  async function* wire(): AsyncGenerator<Buffer[]> {
    for await (const b of c.raw) yield splitBatch(b);
  }
  return { messages: messages(), wire: wire(), cancel: c.cancel };
}

/**
 * The same stream read with node:http2 instead of grpc-js (tap-h2-reader.ts: cheaper per event,
 * and grpc-js is not loaded), for a reader of `wire` (`meshtap tap`); `messages` parses it.
 */
export function openTapWireStream(address: string, request: TapRequest, options: { deadlineMs?: number } = {}): TapStream {
  const c = openH2ObserveCall(address, TAP_OBSERVE_PATH, jsonSerialize(request), request.grant ? { [GRANT_METADATA_KEY]: request.grant } : {}, options.deadlineMs);
  async function* wire(): AsyncGenerator<Buffer[]> {
    try {
      for await (const read of c.messages) {
        // One read's batches, cut into messages, as one batch for the reader.
        yield read.length === 1 ? splitBatch(read[0]!) : read.flatMap(splitBatch);
      }
    } catch (err) {
      throw wireMismatch(err, address);
    }
  }
  async function* messages(): AsyncGenerator<TapMessage> {
    for await (const batch of wire()) for (const m of batch) yield parseMessageBytes(m);
  }
  return { messages: messages(), wire: wire(), cancel: c.cancel };
}
