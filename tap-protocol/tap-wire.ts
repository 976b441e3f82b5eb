/**
 * The tap service on the wire: gRPC method `/meshtap.tap.v1.Tap/Observe` (server streaming),
 * served by every sidecar on its tap port and called by the tap API and `meshtap tap --proxy`.
 *
 * Messages are JSON (content-subtype `application/grpc+json` in spirit): the event schema is
 * DESIGN §5's JSON, so tools read one format everywhere. The cost is paid only while someone taps.
 * The grant, when present, travels in the request metadata `meshtap-grant` as well as the body.
 */
import * as grpc from '@grpc/grpc-js';
import type { TapMessage, TapRequest } from './tap-types.js';

export const TAP_OBSERVE_PATH = '/meshtap.tap.v1.Tap/Observe';
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
  return e?.code === grpc.status.UNAVAILABLE && typeof e.details === 'string' && e.details.startsWith('MT_SIDECAR_STOPPED:');
}

const jsonSerialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const jsonDeserialize = <T>(bytes: Buffer): T => JSON.parse(bytes.toString('utf8')) as T;

export const TAP_SERVICE: grpc.ServiceDefinition = {
  Observe: {
    path: TAP_OBSERVE_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: jsonSerialize,
    requestDeserialize: (b: Buffer) => jsonDeserialize<TapRequest>(b),
    responseSerialize: jsonSerialize,
    responseDeserialize: (b: Buffer) => jsonDeserialize<TapMessage>(b),
    originalName: 'observe',
  },
};

export interface TapStream {
  /** Messages as they arrive. Ends when the sidecar ends the stream; throws a grpc ServiceError on failure. */
  messages: AsyncIterable<TapMessage>;
  /** Cancels the stream (client went away). */
  cancel(): void;
}

/** Opens a tap stream to one sidecar's tap port (`host:port`). */
export function openTapStream(address: string, request: TapRequest, options: { deadlineMs?: number } = {}): TapStream {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const metadata = new grpc.Metadata();
  if (request.grant) metadata.set(GRANT_METADATA_KEY, request.grant);
  const callOptions: grpc.CallOptions = {};
  if (options.deadlineMs) callOptions.deadline = Date.now() + options.deadlineMs;
  const call = client.makeServerStreamRequest(
    TAP_OBSERVE_PATH,
    jsonSerialize,
    (b: Buffer) => jsonDeserialize<TapMessage>(b),
    request,
    metadata,
    callOptions,
  );
  call.on('end', () => client.close());
  call.on('error', () => client.close());
  return {
    messages: call as AsyncIterable<TapMessage>,
    cancel: () => {
      call.cancel();
      client.close();
    },
  };
}
