/**
 * The malformations a generated HTTP/2 conversation may carry (one per conversation), each
 * written where the spec puts it. Each aims at one of the js observer's give-ups (h2-frame,
 * h2-hpack, h2-header-too-large) or at a case where parsers tend to disagree; the differential
 * suites check that the native engine ends the same way.
 */
import type { MutationSpec } from './h2-conversation-spec.js';
import { DEFAULT_MAX_FRAME, FLAG, FRAME, FRAME_BUDGET, SETTINGS, settingsPayload, u32 } from './h2-wire.js';
import { encodeInteger } from './hpack-encoder.js';

/** What a malformation needs from the conversation being built. */
export interface MutationContext {
  emit(from: 'client' | 'server', type: number, flags: number, stream: number, payload?: Buffer): void;
  push(from: 'client' | 'server', bytes: Buffer, what: string): void;
  /** The stream a bad block goes on: a new client stream (a wasted id is harmless: ids only have to grow), or the server's newest. */
  streamFor(from: 'client' | 'server'): number;
  lastOpened(): number;
  /** The largest table size the side's peer allowed. */
  allowedTable(from: 'client' | 'server'): number;
  /** Entries in the side's dynamic table. */
  tableLength(from: 'client' | 'server'): number;
}

/** Writes malformation `m` (the injected kinds; flip-byte, cut-off and first-frame-not-settings are applied elsewhere). */
export function writeMutation(m: MutationSpec, ctx: MutationContext): void {
  const from = m.side;
  const { emit, push } = ctx;
  const lastOpened = ctx.lastOpened();
  const stream = ctx.streamFor(from);
  const headers = (block: Buffer, flags = FLAG.END_HEADERS | FLAG.END_STREAM) => emit(from, FRAME.HEADERS, flags, stream, block);
  switch (m.kind) {
    case 'hpack-index-0':
      return headers(Buffer.from([0x80]));
    case 'hpack-index-oob':
      return headers(encodeInteger(62 + ctx.tableLength(from) + (m.byte % 40), 7, 0x80));
    case 'hpack-bad-huffman':
      // A Huffman string whose padding is zeros (must be ones: an EOS prefix).
      return headers(Buffer.from([0x00, 0x81, 0x00 | (m.byte & 0x07), 0x81, 0x00]));
    case 'hpack-eos':
      // The 30-bit EOS code inside a Huffman string.
      return headers(Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x81, 0x1f]));
    case 'hpack-truncated':
      return headers(Buffer.from([0x40, 0x05, 0x61, 0x62]));
    case 'hpack-update-after-field':
      return headers(Buffer.from([0x82, 0x20]));
    case 'hpack-update-too-big':
      return headers(encodeInteger(Math.max(ctx.allowedTable(from), 65_536) + 1 + m.byte, 5, 0x20));
    case 'header-list-too-large': {
      const big = Buffer.concat([Buffer.from([0x00]), encodeInteger(5, 7), Buffer.from('x-big'), encodeInteger(70_000 + m.byte, 7), Buffer.alloc(70_000 + m.byte, 0x61)]);
      for (let at = 0, first = true; at < big.length; at += FRAME_BUDGET, first = false) {
        const piece = big.subarray(at, at + FRAME_BUDGET);
        const isLast = at + FRAME_BUDGET >= big.length;
        emit(from, first ? FRAME.HEADERS : FRAME.CONTINUATION, (isLast ? FLAG.END_HEADERS : 0) | (first ? FLAG.END_STREAM : 0), stream, piece);
      }
      return;
    }
    case 'frame-too-large':
      return emit(from, FRAME.DATA, 0, Math.max(lastOpened, 1), Buffer.alloc(DEFAULT_MAX_FRAME * 4 + 1 + m.byte, 0x62));
    case 'bad-rst':
      return emit(from, FRAME.RST_STREAM, 0, Math.max(lastOpened, 1), Buffer.alloc(m.byte % 2 ? 3 : 5));
    case 'bad-ping':
      return emit(from, FRAME.PING, 0, m.byte % 2 ? 1 : 0, Buffer.alloc(m.byte % 2 ? 8 : 7));
    case 'bad-priority':
      return emit(from, FRAME.PRIORITY, 0, m.byte % 2 ? 0 : 3, Buffer.alloc(m.byte % 2 ? 5 : 4));
    case 'bad-window-update':
      return emit(from, FRAME.WINDOW_UPDATE, 0, 0, Buffer.alloc(3 + (m.byte % 2) * 2));
    case 'bad-goaway':
      return emit(from, FRAME.GOAWAY, 0, m.byte % 2 ? 1 : 0, Buffer.alloc(m.byte % 2 ? 8 : 7));
    case 'settings-on-stream':
      return emit(from, FRAME.SETTINGS, 0, 1, Buffer.alloc(0));
    case 'settings-bad-length':
      return emit(from, FRAME.SETTINGS, 0, 0, Buffer.alloc(1 + (m.byte % 5)));
    case 'settings-ack-payload':
      return emit(from, FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(6));
    case 'settings-bad-max-frame':
      return emit(from, FRAME.SETTINGS, 0, 0, settingsPayload([[SETTINGS.MAX_FRAME_SIZE, m.byte % 2 ? 16_383 : 16_777_216]]));
    case 'data-stream-0':
      return emit(from, FRAME.DATA, 0, 0, Buffer.from('x'));
    case 'headers-stream-0':
      return emit(from, FRAME.HEADERS, FLAG.END_HEADERS, 0, Buffer.from([0x82]));
    case 'continuation-orphan':
      return emit(from, FRAME.CONTINUATION, FLAG.END_HEADERS, Math.max(lastOpened, 1), Buffer.from([0x82]));
    case 'continuation-interrupted':
      emit(from, FRAME.HEADERS, 0, stream, Buffer.from([0x82]));
      return emit(from, FRAME.PING, 0, 0, Buffer.alloc(8));
    case 'padding-too-long':
      return emit(from, FRAME.HEADERS, FLAG.END_HEADERS | FLAG.PADDED, stream, Buffer.from([10 + (m.byte % 200), 0x82, 0x84]));
    case 'push-promise-from-client':
      return emit('client', FRAME.PUSH_PROMISE, FLAG.END_HEADERS, Math.max(lastOpened, 1), Buffer.concat([u32(2), Buffer.from([0x82])]));
    case 'hpack-int-overflow':
      // An index whose integer runs past 2^31 (a decoder must stop, not wrap).
      return headers(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f + (m.byte % 2) * 0x70]));
    case 'hpack-update-past-bound':
      // Above 64 KiB: allowed only when the peer advertised more, and past the js decoder's bound either way.
      return headers(encodeInteger(65_537 + m.byte, 5, 0x20));
    case 'unknown-too-large':
      return emit(from, 0x20 + (m.byte % 16), 0, 0, Buffer.alloc(4 * DEFAULT_MAX_FRAME + 1, 0x75));
    case 'data-padding-too-long':
      return emit(from, FRAME.DATA, FLAG.PADDED, Math.max(lastOpened, 1), Buffer.from([5 + (m.byte % 200), 0x61, 0x62]));
    case 'client-even-stream':
      return emit('client', FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream + 1, Buffer.from([0x82, 0x86, 0x84]));
    case 'client-old-stream':
      return emit('client', FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.from([0x83, 0x86, 0x85]));
    case 'data-unknown-stream':
      return emit(from, FRAME.DATA, FLAG.END_STREAM, 1001, Buffer.from('stray'));
    case 'rst-stream-0':
      return emit(from, FRAME.RST_STREAM, 0, 0, u32(8));
    case 'garbage':
      return push(from, Buffer.from(Array.from({ length: 1 + (m.byte % 40) }, (_, i) => (m.byte * 31 + i * 17) & 0xff)), 'garbage');
    default:
      return;
  }
}
