/**
 * The recording format (docs/recording-format.md): JSON Lines, optionally gzip. Line 1 is a
 * `RecordingHeader`; every further line is one `RecordedExchange`, shaped like a tap `end`
 * event with bodies, except that gRPC bodies are kept as separate message frames so replay
 * and mock can send them one by one (and other tools need not re-parse the gRPC framing).
 */
import type { TapBody, TapEvent, TapFilter } from '../tap-protocol/index.js';
import { splitGrpcFrames } from './grpc-frames.js';

export const RECORDING_FORMAT = 'meshtap-recording';
export const RECORDING_VERSION = 1;

/** Where the exchanges came from. */
export type RecordingSource =
  | { kind: 'proxy'; address: string }
  | { kind: 'workload'; target: string; namespace?: string; url?: string }
  | { kind: 'har'; file?: string }
  | { kind: 'other'; description: string };

/** The first line of every recording. Unknown fields are kept and ignored by readers. */
export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: number;
  /** ISO-8601 time the recording started. */
  created: string;
  source: RecordingSource;
  /** meshtap version that wrote the file. */
  meshtap: string;
  /** The tap filters the recording was made with (OR of ANDs); empty = everything. */
  matches?: TapFilter[][];
  /** Whether bodies were requested (they may still be absent without the body grant). */
  bodies?: boolean;
  [extra: string]: unknown;
}

/** One gRPC message as it crossed the wire (5-byte prefix split off). */
export interface GrpcFrame {
  /** The compressed flag of the length prefix (payload compressed per `grpc-encoding`). */
  compressed: boolean;
  /** Payload bytes, base64 (as on the wire: still compressed when `compressed`). */
  data: string;
  /** Payload length announced by the prefix (may exceed the bytes in `data` when truncated). */
  size: number;
  /** True when the capture ended inside this message: `data` is only a prefix. */
  truncated?: boolean;
  /** Milliseconds from the start of the exchange at which the message was sent, when known. */
  atMs?: number;
}

/** One exchange: a tap `end` event with bodies; gRPC messages as frames instead of counts. */
export interface RecordedExchange extends Omit<TapEvent, 'kind' | 'requestMessages' | 'responseMessages'> {
  kind: 'end';
  /** Request trailers (h2 trailing HEADERS from the client, h1 chunked trailers), when seen. */
  requestTrailers?: TapEvent['trailers'];
  /** gRPC only: request messages in order (replaces `requestBody`). */
  requestMessages?: GrpcFrame[];
  /** gRPC only: response messages in order (replaces `responseBody`). */
  responseMessages?: GrpcFrame[];
}

/** Builds the header line for a new recording. */
export function createRecordingHeader(source: RecordingSource, meshtapVersion: string, extra: Partial<RecordingHeader> = {}): RecordingHeader {
  return { format: RECORDING_FORMAT, version: RECORDING_VERSION, created: new Date().toISOString(), source, meshtap: meshtapVersion, ...extra };
}

function bodyBytes(body: TapBody): Buffer {
  return Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
}

/**
 * Turns a tap `end` event into a recorded exchange. For gRPC the captured body bytes (the raw
 * length-prefixed stream) become frames; a capture that stopped mid-message marks the last
 * frame `truncated`. HTTP bodies are kept as they are.
 */
export function exchangeFromEvent(event: TapEvent): RecordedExchange {
  const { kind: _kind, requestMessages: _rq, responseMessages: _rs, ...rest } = event;
  const out: RecordedExchange = { kind: 'end', ...rest };
  if (event.protocol === 'grpc') {
    if (event.requestBody) {
      out.requestMessages = grpcFramesOf(event.requestBody);
      delete out.requestBody;
    }
    if (event.responseBody) {
      out.responseMessages = grpcFramesOf(event.responseBody);
      delete out.responseBody;
    }
  }
  return out;
}

/**
 * A gRPC body's frames. Decoded for the viewer (`decoded`, session 16) and cut: its last message is
 * the one cut (the decoder stops there), though its prefix holds the length of what was decoded.
 */
function grpcFramesOf(body: TapBody): GrpcFrame[] {
  const frames = splitGrpcFrames(bodyBytes(body), body.truncated);
  const last = frames[frames.length - 1];
  if (body.decoded !== undefined && body.truncated && last !== undefined) last.truncated = true;
  return frames;
}

/** Decodes a recorded HTTP body to bytes (empty when absent). */
export function decodeBody(body: TapBody | undefined): Buffer {
  return body ? bodyBytes(body) : Buffer.alloc(0);
}

/** Encodes bytes as a TapBody: utf8 when the bytes are valid UTF-8 text, base64 otherwise. */
export function encodeBody(bytes: Buffer, size = bytes.length, truncated = false): TapBody {
  const text = bytes.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  return { size, truncated, encoding: isText ? 'utf8' : 'base64', data: isText ? text : bytes.toString('base64') };
}

/** The recorded connection of an exchange: the `<connection>` part of `<connection>.<stream>`. */
export function connectionOf(ex: Pick<RecordedExchange, 'id'>): string {
  const dot = ex.id.lastIndexOf('.');
  return dot === -1 ? ex.id : ex.id.slice(0, dot);
}

/**
 * A key for the connection an exchange was recorded on, unique across a whole recording.
 * Connection ids are per sidecar (every pod counts from 1), so a recording of several pods
 * repeats them: the key is the observing pod's namespace and name plus the connection id.
 * (`pod` is absent only for a single sidecar tapped directly, where ids cannot collide.)
 */
export function connectionKeyOf(ex: Pick<RecordedExchange, 'id' | 'pod' | 'proxy' | 'srcNamespace' | 'dstNamespace'>): string {
  const namespace = (ex.proxy === 'out' ? ex.srcNamespace : ex.dstNamespace) ?? '';
  return JSON.stringify([namespace, ex.pod ?? '', connectionOf(ex)]);
}

/** When the exchange started (ms since epoch): end time minus duration. */
export function startTimeMs(ex: Pick<RecordedExchange, 'ts' | 'durationMs'>): number {
  return Date.parse(ex.ts) - (ex.durationMs ?? 0);
}
