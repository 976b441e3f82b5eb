/**
 * One direction of an HTTP/2 connection as the observer follows it: its frame reader, its
 * HPACK decoder, header block assembly across CONTINUATION frames, and the meaning of each
 * frame type. SETTINGS a side sends change what the *other* side may send.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { decodeFieldText } from '../field-text.js';
import type { GiveUpReason, ObserverContext } from '../observe.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_CONTINUATION,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_PRIORITY,
  FRAME_PUSH_PROMISE,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  GOAWAY_MIN_PAYLOAD_BYTES,
  MAX_ALLOWED_FRAME_SIZE,
  PING_PAYLOAD_BYTES,
  PRIORITY_PAYLOAD_BYTES,
  RST_STREAM_PAYLOAD_BYTES,
  SETTINGS_ENTRY_BYTES,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
  WINDOW_UPDATE_PAYLOAD_BYTES,
} from './constants.js';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import { HpackDecoder } from './hpack-decoder.js';
import type { StreamTracker } from './stream-tracker.js';

/** What a side needs from its connection. */
export interface SideOwner {
  readonly streams: StreamTracker;
  readonly maxStreams: number;
  giveUp(reason: GiveUpReason, detail: string): void;
  otherSide(side: Side): Side;
}

/**
 * A compressed header block can decode to little (Huffman codes up to 30 bits per octet);
 * this bounds the bytes buffered across CONTINUATION frames relative to the decoded limit.
 */
const BLOCK_BYTES_PER_HEADER_BYTE = 4;
const BLOCK_BYTES_SLACK = 4096;

/** One direction of the connection: its frame reader, HPACK decoder and pending block. */
export class Side implements FrameHandler {
  readonly reader = new FrameReader(this);
  readonly decoder: HpackDecoder;
  private isFirstFrame = true;
  /** Stream of a header block awaiting CONTINUATION (0: none). */
  private blockStream = 0;
  private blockType = 0;
  private isBlockEndStream = false;
  private block = Buffer.alloc(0);
  private blockLength = 0;
  private readonly maxBlockBytes: number;

  constructor(
    private readonly conn: SideOwner,
    readonly isClient: boolean,
    ctx: ObserverContext,
  ) {
    this.decoder = new HpackDecoder({
      maxHeaderListBytes: ctx.limits.maxHeaderBytes,
      maxTableBytes: ctx.limits.maxHpackTableBytes,
    });
    this.maxBlockBytes = ctx.limits.maxHeaderBytes * BLOCK_BYTES_PER_HEADER_BYTE + BLOCK_BYTES_SLACK;
  }

  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.isFirstFrame) {
      // RFC 9113 §3.4: each side's first frame is a SETTINGS frame.
      this.isFirstFrame = false;
      if (type !== FRAME_SETTINGS) return this.conn.giveUp('h2-frame', 'first frame is not SETTINGS');
    }
    if (this.blockStream !== 0 && (type !== FRAME_CONTINUATION || streamId !== this.blockStream)) {
      return this.conn.giveUp('h2-frame', 'header block interrupted before END_HEADERS');
    }
    switch (type) {
      case FRAME_HEADERS:
      case FRAME_PUSH_PROMISE:
        return this.onHeaderBlockStart(type, flags, streamId, buf, start, end);
      case FRAME_CONTINUATION:
        if (this.blockStream === 0) return this.conn.giveUp('h2-frame', 'CONTINUATION without a header block');
        if (!this.appendBlock(buf, start, end)) return;
        if (flags & FLAG_END_HEADERS) this.finishBlock(this.block, 0, this.blockLength);
        return;
      case FRAME_SETTINGS:
        return this.onSettings(flags, streamId, buf, start, end);
      case FRAME_RST_STREAM:
        if (streamId === 0 || length !== RST_STREAM_PAYLOAD_BYTES) return this.conn.giveUp('h2-frame', 'bad RST_STREAM');
        this.conn.streams.reset(streamId, buf.readUInt32BE(start), this.isClient);
        return;
      case FRAME_GOAWAY:
        if (streamId !== 0 || length < GOAWAY_MIN_PAYLOAD_BYTES) return this.conn.giveUp('h2-frame', 'bad GOAWAY');
        // A client's GOAWAY names server-initiated (push) streams, which are not tracked.
        if (!this.isClient) this.conn.streams.goaway(buf.readUInt32BE(start) & 0x7fffffff);
        return;
      case FRAME_PING:
        if (streamId !== 0 || length !== PING_PAYLOAD_BYTES) return this.conn.giveUp('h2-frame', 'bad PING');
        return;
      case FRAME_PRIORITY:
        if (streamId === 0 || length !== PRIORITY_PAYLOAD_BYTES) return this.conn.giveUp('h2-frame', 'bad PRIORITY');
        return;
      case FRAME_WINDOW_UPDATE:
        if (length !== WINDOW_UPDATE_PAYLOAD_BYTES) return this.conn.giveUp('h2-frame', 'bad WINDOW_UPDATE');
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  onDataStart(_flags: number, streamId: number): void {
    if (this.isFirstFrame) return this.conn.giveUp('h2-frame', 'first frame is not SETTINGS');
    if (this.blockStream !== 0) return this.conn.giveUp('h2-frame', 'header block interrupted before END_HEADERS');
    if (streamId === 0) return this.conn.giveUp('h2-frame', 'DATA on stream 0');
  }

  onData(streamId: number, buf: Buffer, start: number, end: number): void {
    this.conn.streams.data(this.isClient, streamId, buf, start, end);
  }

  onDataEnd(flags: number, streamId: number): void {
    if (flags & FLAG_END_STREAM) this.conn.streams.dataEndStream(this.isClient, streamId);
  }

  onFrameError(detail: string): void {
    this.conn.giveUp('h2-frame', detail);
  }

  private onHeaderBlockStart(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId === 0) return this.conn.giveUp('h2-frame', 'header block on stream 0');
    if (type === FRAME_PUSH_PROMISE && this.isClient) return this.conn.giveUp('h2-frame', 'PUSH_PROMISE from the client');
    let from = start;
    let to = end;
    if (flags & FLAG_PADDED) {
      if (from >= to) return this.conn.giveUp('h2-frame', 'padded frame without a pad length');
      to -= buf[from++]!;
    }
    if (type === FRAME_HEADERS && flags & FLAG_PRIORITY) from += PRIORITY_PAYLOAD_BYTES;
    else if (type === FRAME_PUSH_PROMISE) from += 4; // promised stream id
    if (from > to) return this.conn.giveUp('h2-frame', 'padding or fields longer than the payload');
    this.blockType = type;
    this.isBlockEndStream = type === FRAME_HEADERS && (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) {
      this.blockStream = streamId;
      this.finishBlock(buf, from, to);
      return;
    }
    this.blockStream = streamId;
    this.blockLength = 0;
    this.appendBlock(buf, from, to);
  }

  private appendBlock(buf: Buffer, start: number, end: number): boolean {
    const needed = this.blockLength + (end - start);
    if (needed > this.maxBlockBytes) {
      this.conn.giveUp('h2-header-too-large', `header block over ${this.maxBlockBytes} bytes`);
      return false;
    }
    if (this.block.length < needed) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(needed, this.block.length * 2), this.maxBlockBytes));
      this.block.copy(grown, 0, 0, this.blockLength);
      this.block = grown;
    }
    buf.copy(this.block, this.blockLength, start, end);
    this.blockLength = needed;
    return true;
  }

  /** Decodes a complete block; HPACK must see every block to stay in sync. */
  private finishBlock(buf: Buffer, start: number, end: number): void {
    const streamId = this.blockStream;
    this.blockStream = 0;
    const headers: HeaderList = [];
    const result = this.decoder.decode(buf, start, end, headers);
    if (!result.ok) {
      return this.conn.giveUp(result.error === 'too-large' ? 'h2-header-too-large' : 'h2-hpack', result.detail);
    }
    // HPACK strings are octets; events show them by the one rule for HTTP/1 and h2 (field-text.ts).
    for (const field of headers) {
      const value = decodeFieldText(field[1], field[0] === ':path' ? 'percent' : 'backslash');
      if (value !== field[1]) field[1] = value;
    }
    if (this.blockType === FRAME_PUSH_PROMISE) return; // pushed streams are not tracked
    if (this.isClient) {
      if (!this.conn.streams.requestHeaders(streamId, headers, this.isBlockEndStream)) {
        this.conn.giveUp('h2-too-many-streams', `over ${this.conn.maxStreams} open streams`);
      }
    } else {
      this.conn.streams.responseHeaders(streamId, headers, this.isBlockEndStream);
    }
  }

  /** SETTINGS sent by this side limit what the *other* side may send. */
  private onSettings(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    const length = end - start;
    if (streamId !== 0) return this.conn.giveUp('h2-frame', 'SETTINGS on a stream');
    if (flags & FLAG_ACK) {
      if (length !== 0) return this.conn.giveUp('h2-frame', 'SETTINGS ACK with a payload');
      return;
    }
    if (length % SETTINGS_ENTRY_BYTES !== 0) return this.conn.giveUp('h2-frame', 'SETTINGS length not a multiple of 6');
    const peer = this.conn.otherSide(this);
    for (let at = start; at < end; at += SETTINGS_ENTRY_BYTES) {
      const id = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      if (id === SETTINGS_HEADER_TABLE_SIZE) {
        peer.decoder.setAllowedTableSize(value);
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
          return this.conn.giveUp('h2-frame', `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
        }
        // The peer may still send larger frames until it has acknowledged a decrease.
        if (value > peer.reader.maxFrameSize) peer.reader.maxFrameSize = value;
      }
    }
  }
}
