/**
 * The data of a generated HTTP/2 conversation (support/h2-conversations.ts generates it,
 * support/h2-conversation-bytes.ts turns it into bytes): what fast-check shrinks and prints, and
 * what a regression case writes down.
 */
import type { FieldStyle } from './hpack-encoder.js';

// ---- the spec ------------------------------------------------------------------------------

/** A body: literal text (UTF-8; exact bytes when it starts with `latin1:`), or `size` bytes of a pattern seeded by `fill`. */
export type BodySpec = string | { size: number; fill: number };

/** A header block and how it goes on the wire. */
export interface BlockSpec {
  fields: Array<[string, string]>;
  /** Per-field HPACK choices, cycled. */
  styles: FieldStyle[];
  /** HEADERS plus (fragments - 1) CONTINUATION frames (more when the block needs them). */
  fragments: number;
  /** Pad bytes on the HEADERS frame (null: not PADDED). */
  padding: number | null;
  hasPriority: boolean;
  /** A dynamic table size update at the start of the block (legal values, from what the peer allowed). */
  sizeUpdate: 'none' | 'shrink' | 'grow' | 'zero-and-back';
}

/** One direction of one stream. */
export interface DirectionSpec {
  /** Server only: 1xx heads before the final one (their fields get `:status`). */
  interim: BlockSpec[];
  head: BlockSpec;
  body: BodySpec;
  /** DATA payload sizes, cycled. */
  dataSizes: number[];
  /** Pad bytes per DATA frame (null: not PADDED), cycled. */
  dataPadding: Array<number | null>;
  trailers: BlockSpec | null;
  /** With no body and no trailers: END_STREAM on an empty DATA frame instead of the HEADERS. */
  isEmptyDataEnd: boolean;
}

export interface StreamSpec {
  request: DirectionSpec;
  response: DirectionSpec;
  /** RST_STREAM after `after` of the stream's frames (at least the request HEADERS). */
  reset: null | { by: 'client' | 'server'; after: number; code: number; isCrossing: boolean };
}

export const EXTRA_KINDS = ['ping', 'priority', 'window-update', 'settings-table', 'settings-frame-size', 'settings-ack', 'unknown', 'goaway', 'push-promise'] as const;
export type ExtraKind = (typeof EXTRA_KINDS)[number];

/** A frame the schedule does not need: sent by `side` before the `at`-th stream frame. */
export interface ExtraSpec {
  at: number;
  side: 'client' | 'server';
  kind: ExtraKind;
  value: number;
}

/** Malformations (support/h2-mutations.ts says what each one writes). */
export const MUTATIONS = [
  'hpack-index-0',
  'hpack-index-oob',
  'hpack-bad-huffman',
  'hpack-eos',
  'hpack-truncated',
  'hpack-update-after-field',
  'hpack-update-too-big',
  'header-list-too-large',
  'frame-too-large',
  'bad-rst',
  'bad-ping',
  'bad-priority',
  'bad-window-update',
  'bad-goaway',
  'settings-on-stream',
  'settings-bad-length',
  'settings-ack-payload',
  'settings-bad-max-frame',
  'data-stream-0',
  'headers-stream-0',
  'continuation-orphan',
  'continuation-interrupted',
  'padding-too-long',
  'push-promise-from-client',
  'hpack-int-overflow',
  'hpack-update-past-bound',
  'unknown-too-large',
  'data-padding-too-long',
  'client-even-stream',
  'client-old-stream',
  'data-unknown-stream',
  'rst-stream-0',
  'first-frame-not-settings',
  'garbage',
  'flip-byte',
  'cut-off',
] as const;
export type MutationKind = (typeof MUTATIONS)[number];

export interface MutationSpec {
  kind: MutationKind;
  side: 'client' | 'server';
  /** Where: before the `at`-th stream frame (injections), or a byte offset (flip-byte, cut-off), modulo the length. */
  at: number;
  byte: number;
}

export interface H2ConversationSpec {
  isServerFirst: boolean;
  clientSettings: Array<[number, number]>;
  serverSettings: Array<[number, number]>;
  streams: StreamSpec[];
  /** Picks, in turn, which ready frame goes next (modulo the number ready). */
  schedule: number[];
  extras: ExtraSpec[];
  mutation: MutationSpec | null;
  /**
   * An h2c upgrade first (HTTP/1 request with `Upgrade: h2c`, 101), after `before` plain HTTP/1
   * exchanges: the request is stream 1, `response` its answer.
   */
  upgrade: null | { before: number; method: 'GET' | 'POST'; path: string; body: string; response: DirectionSpec };
  /** TCP piece sizes, cycled. */
  pieces: number[];
  /** Close after this many stream frames (modulo their number + 1), streams left open; null: after all. */
  stopAfter: number | null;
  serverClosesFirst: boolean;
}


/** SETTINGS_HEADER_TABLE_SIZE values the generators advertise. */
export const TABLE_SIZES = [0, 64, 256, 4096, 8192, 65_536, 100_000];
