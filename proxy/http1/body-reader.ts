/**
 * Incremental de-framing of one HTTP/1 body: Content-Length, chunked (RFC 9112 §7.1, with
 * chunk extensions and a trailer section) or close-delimited.
 *
 * Body bytes are skipped by counting; only when a capture was asked for are they copied
 * (`appendBody`). The per-byte state machine runs only over chunk-size lines, never over
 * chunk data. Chunk extensions are validated and skipped (nobody consumes them), bounded by
 * the head limit so a peer cannot make the observer scan forever in one line.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { appendBody, type BodyCapture } from '../observe.js';
import type { Framing } from './framing.js';
import { HEAD_BARE_LF, HEAD_NEED_MORE, HEAD_TOO_LARGE, HeadReader } from './head-reader.js';
import { NO_FIELDS, parseFieldSection, type HeadError } from './head-parse.js';

export type BodyError = HeadError | 'h1-header-too-large';

/** `feed` results that are not an offset into the chunk. */
export const BODY_NEED_MORE = -1;
export const BODY_ERROR = -2;

const CR = 0x0d;
const LF = 0x0a;
const HTAB = 0x09;

const enum State {
  Done,
  Length,
  Close,
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailers,
}

const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

export class BodyReader {
  /** De-framed body bytes seen. */
  bytes = 0;
  /** Where body bytes are copied when someone asked; undefined means no copying. */
  capture: BodyCapture | undefined;
  /** Trailer fields of a chunked body, once complete. */
  trailers: HeaderList = NO_FIELDS;
  /** Set when `feed` returned BODY_ERROR. */
  error: BodyError | undefined;
  private state = State.Done;
  private remaining = 0;
  private sizeDigits = 0;
  private extBytes = 0;
  private readonly trailerReader: HeadReader;

  constructor(private readonly maxHeaderBytes: number) {
    this.trailerReader = new HeadReader(maxHeaderBytes, true);
  }

  /** Starts a body with the given framing (none/length/chunked/close). */
  start(framing: Framing, capture: BodyCapture | undefined): void {
    this.bytes = 0;
    this.capture = capture;
    this.trailers = NO_FIELDS;
    this.error = undefined;
    this.sizeDigits = 0;
    this.remaining = 0;
    switch (framing.kind) {
      case 'none':
        this.state = State.Done;
        break;
      case 'length':
        this.remaining = framing.length;
        this.state = framing.length > 0 ? State.Length : State.Done;
        break;
      case 'chunked':
        this.state = State.Size;
        break;
      case 'close':
        this.state = State.Close;
        break;
    }
  }

  get isDone(): boolean {
    return this.state === State.Done;
  }

  /** True for a close-delimited body (complete when the sender closes). */
  get isCloseDelimited(): boolean {
    return this.state === State.Close;
  }

  /** The sender closed: a close-delimited body is complete now. */
  finishOnClose(): void {
    if (this.state === State.Close) this.state = State.Done;
  }

  private data(chunk: Buffer, from: number, to: number): void {
    this.bytes += to - from;
    if (this.capture !== undefined) appendBody(this.capture, chunk.subarray(from, to));
  }

  private fail(error: BodyError): number {
    this.error = error;
    this.state = State.Done;
    return BODY_ERROR;
  }

  /**
   * Consumes body bytes from `chunk` at `offset`. Returns the offset just after the body
   * when it completed (`isDone`), BODY_NEED_MORE when the chunk was used up, or BODY_ERROR.
   */
  feed(chunk: Buffer, offset: number): number {
    let pos = offset;
    const len = chunk.length;
    while (pos < len) {
      switch (this.state) {
        case State.Done:
          return pos;
        case State.Close:
          this.data(chunk, pos, len);
          return BODY_NEED_MORE;
        case State.Length:
        case State.Data: {
          const take = Math.min(this.remaining, len - pos);
          this.data(chunk, pos, pos + take);
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Done : State.DataCr;
          break;
        }
        case State.Size: {
          const c = chunk[pos];
          const h = hexValue(c);
          if (h >= 0) {
            if (this.remaining > (MAX_CHUNK_SIZE - h) / 16) return this.fail('h1-parse');
            this.remaining = this.remaining * 16 + h;
            this.sizeDigits++;
          } else if (this.sizeDigits === 0) {
            return this.fail('h1-parse');
          } else if (c === CR) {
            this.state = State.SizeLf;
          } else if (c === 0x3b /* ; */ || c === 0x20 || c === HTAB) {
            this.extBytes = 0;
            this.state = State.Ext;
          } else if (c === LF) {
            return this.fail('h1-ambiguous-framing');
          } else {
            return this.fail('h1-parse');
          }
          pos++;
          break;
        }
        case State.Ext: {
          // chunk-ext (RFC 9112 §7.1.1): skipped; reject controls so a bare LF cannot hide here.
          const c = chunk[pos];
          if (c === CR) this.state = State.SizeLf;
          else if (c === LF) return this.fail('h1-ambiguous-framing');
          else if ((c < 0x20 && c !== HTAB) || c === 0x7f) return this.fail('h1-parse');
          else if (++this.extBytes > this.maxHeaderBytes) return this.fail('h1-header-too-large');
          pos++;
          break;
        }
        case State.SizeLf:
          if (chunk[pos] !== LF) return this.fail('h1-parse');
          pos++;
          this.sizeDigits = 0;
          if (this.remaining === 0) {
            this.trailerReader.reset();
            this.state = State.Trailers;
          } else {
            this.state = State.Data;
          }
          break;
        case State.DataCr:
          if (chunk[pos] !== CR) return this.fail('h1-parse');
          pos++;
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (chunk[pos] !== LF) return this.fail('h1-parse');
          pos++;
          this.state = State.Size;
          break;
        case State.Trailers: {
          const next = this.trailerReader.feed(chunk, pos);
          if (next === HEAD_NEED_MORE) return BODY_NEED_MORE;
          if (next === HEAD_BARE_LF) return this.fail('h1-ambiguous-framing');
          if (next === HEAD_TOO_LARGE) return this.fail('h1-header-too-large');
          const head = this.trailerReader.head as string;
          this.trailerReader.reset();
          if (head.length > 2) {
            const fields = parseFieldSection(head);
            if (!fields.ok) return this.fail(fields.error);
            this.trailers = fields.value;
          }
          this.state = State.Done;
          return next;
        }
      }
    }
    return this.state === State.Done ? pos : BODY_NEED_MORE;
  }
}
