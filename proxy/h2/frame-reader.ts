/**
 * Incremental HTTP/2 frame reader (RFC 9113 §4) for one direction of a connection.
 *
 * It is fed views of forwarded bytes in any chunking. Control and header frames are handed
 * over whole (as a view into the chunk when the frame lies in one chunk, else copied into a
 * reusable buffer); DATA payloads are streamed through as views with padding removed, so
 * body bytes are never copied here. The reader only knows framing; what frames mean is the
 * observer's business.
 */
import { DEFAULT_MAX_FRAME_SIZE, FLAG_PADDED, FRAME_DATA, FRAME_HEADER_BYTES } from './constants.js';

/** What the reader reports; views are only valid during the call. */
export interface FrameHandler {
  /** A complete frame other than DATA; its payload is `buf[start, end)`. */
  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void;
  /** A DATA frame begins; `dataBytes` excludes the pad-length byte and padding. */
  onDataStart(flags: number, streamId: number, dataBytes: number): void;
  /** Part of the current DATA frame's data (never padding). */
  onData(streamId: number, buf: Buffer, start: number, end: number): void;
  /** The current DATA frame is complete (END_STREAM is in `flags`). */
  onDataEnd(flags: number, streamId: number): void;
  /** The byte stream is not valid framing; the reader stops. */
  onFrameError(detail: string): void;
}

/** Reader states (plain numbers: the hot loop switches on them). */
const State = { Header: 0, Payload: 1, DataPadLength: 2, Data: 3, DataPadding: 4, Stopped: 5 } as const;
type State = (typeof State)[keyof typeof State];

export class FrameReader {
  /** Largest payload accepted: the receiving side's SETTINGS_MAX_FRAME_SIZE. */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private state: State = State.Header;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private length = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  /** Buffered payload of a frame split across chunks. */
  private payload = Buffer.alloc(0);
  private payloadFill = 0;
  /** DATA: data bytes and padding bytes still to come. */
  private dataLeft = 0;
  private padLeft = 0;

  constructor(private readonly handler: FrameHandler) {}

  /** Stops reading for good (the observer gave up). */
  stop(): void {
    this.state = State.Stopped;
  }

  get isStopped(): boolean {
    return this.state === State.Stopped;
  }

  /** True between frames (nothing partial buffered). */
  get isAtFrameBoundary(): boolean {
    return this.state === State.Header && this.headerFill === 0;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      switch (this.state) {
        case State.Header: {
          if (this.headerFill === 0 && end - pos >= FRAME_HEADER_BYTES) {
            this.startFrame(chunk, pos);
            pos += FRAME_HEADER_BYTES;
          } else {
            const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, end - pos);
            chunk.copy(this.header, this.headerFill, pos, pos + take);
            this.headerFill += take;
            pos += take;
            if (this.headerFill < FRAME_HEADER_BYTES) return;
            this.headerFill = 0;
            this.startFrame(this.header, 0);
          }
          break;
        }
        case State.Payload: {
          if (this.payloadFill === 0 && end - pos >= this.length) {
            const from = pos;
            pos += this.length;
            this.state = State.Header;
            this.handler.onFrame(this.type, this.flags, this.streamId, chunk, from, pos);
          } else {
            const take = Math.min(this.length - this.payloadFill, end - pos);
            chunk.copy(this.payload, this.payloadFill, pos, pos + take);
            this.payloadFill += take;
            pos += take;
            if (this.payloadFill < this.length) return;
            this.state = State.Header;
            this.handler.onFrame(this.type, this.flags, this.streamId, this.payload, 0, this.length);
          }
          break;
        }
        case State.DataPadLength: {
          const padBytes = chunk[pos++]!;
          // RFC 9113 §6.1: padding that fills the whole payload (or more) is an error.
          if (padBytes >= this.length) {
            this.fail(`DATA padding ${padBytes} >= payload ${this.length}`);
            return;
          }
          this.padLeft = padBytes;
          this.beginData(this.length - 1 - padBytes);
          break;
        }
        case State.Data: {
          const take = Math.min(this.dataLeft, end - pos);
          const from = pos;
          pos += take;
          this.dataLeft -= take;
          this.handler.onData(this.streamId, chunk, from, pos);
          if (this.dataLeft === 0) this.afterData();
          break;
        }
        case State.DataPadding: {
          const take = Math.min(this.padLeft, end - pos);
          pos += take;
          this.padLeft -= take;
          if (this.padLeft === 0) this.finishData();
          break;
        }
        case State.Stopped:
          return;
      }
    }
  }

  private startFrame(buf: Buffer, at: number): void {
    this.length = buf.readUIntBE(at, 3);
    this.type = buf[at + 3]!;
    this.flags = buf[at + 4]!;
    this.streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
    if (this.length > this.maxFrameSize) {
      this.fail(`frame of ${this.length} bytes over SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`);
      return;
    }
    if (this.type === FRAME_DATA) {
      if (this.flags & FLAG_PADDED) {
        if (this.length === 0) {
          this.fail('padded DATA without a pad length');
          return;
        }
        this.state = State.DataPadLength;
      } else {
        this.padLeft = 0;
        this.beginData(this.length);
      }
      return;
    }
    if (this.length === 0) {
      this.state = State.Header;
      this.handler.onFrame(this.type, this.flags, this.streamId, this.header, 0, 0);
      return;
    }
    if (this.payload.length < this.length) {
      this.payload = Buffer.allocUnsafe(Math.max(this.length, Math.min(this.payload.length * 2, this.maxFrameSize)));
    }
    this.payloadFill = 0;
    this.state = State.Payload;
  }

  private beginData(dataBytes: number): void {
    this.dataLeft = dataBytes;
    this.state = State.Data;
    this.handler.onDataStart(this.flags, this.streamId, dataBytes);
    if (this.isStopped) return;
    if (dataBytes === 0) this.afterData();
  }

  private afterData(): void {
    if (this.isStopped) return;
    if (this.padLeft > 0) this.state = State.DataPadding;
    else this.finishData();
  }

  private finishData(): void {
    this.state = State.Header;
    this.handler.onDataEnd(this.flags, this.streamId);
  }

  private fail(detail: string): void {
    this.state = State.Stopped;
    this.handler.onFrameError(detail);
  }
}
