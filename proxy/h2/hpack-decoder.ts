/**
 * HPACK header block decoder (RFC 7541). One per direction of a connection: HPACK state is
 * connection-wide, so every header block must go through it (even when nobody is watching),
 * and after any error nothing more on that connection can be decoded.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { DEFAULT_HEADER_TABLE_SIZE } from './constants.js';
import { DynamicTable, HPACK_ENTRY_OVERHEAD } from './dynamic-table.js';
import { decodeHuffman } from './huffman.js';
import { STATIC_TABLE } from './static-table.js';

/** `hpack`: the block is not valid HPACK; `too-large`: the decoded list is over the limit. */
export type HpackError = 'hpack' | 'too-large';
export type HpackResult = { ok: true } | { ok: false; error: HpackError; detail: string };

export interface HpackDecoderOptions {
  /** Largest decoded header list (RFC 9113 size: name + value + 32 per field), bytes. */
  maxHeaderListBytes: number;
  /** Largest dynamic table this decoder will follow, whatever the peer allowed. */
  maxTableBytes: number;
}

const OK: HpackResult = { ok: true };
const MAX_INTEGER = 0x7fffffff;

/**
 * Decodes header blocks into `[name, value]` lists (latin1, one char per octet, names as on
 * the wire). Results, not throws: a bad block returns `{ok: false}`.
 */
export class HpackDecoder {
  /** The dynamic table (exposed for tests and debugging). */
  readonly table = new DynamicTable(DEFAULT_HEADER_TABLE_SIZE);
  /** The largest size update the peer's encoder may send (SETTINGS_HEADER_TABLE_SIZE). */
  private allowedTableBytes = DEFAULT_HEADER_TABLE_SIZE;
  private readonly maxHeaderListBytes: number;
  private readonly maxTableBytes: number;
  private pos = 0;
  private failed = false;

  constructor(options: HpackDecoderOptions) {
    this.maxHeaderListBytes = options.maxHeaderListBytes;
    this.maxTableBytes = options.maxTableBytes;
  }

  /**
   * The decoding side advertised SETTINGS_HEADER_TABLE_SIZE. The encoder learns it only
   * later (and a decrease applies only once acknowledged), so the largest value seen, never
   * below the protocol default, is what a size update may legitimately ask for.
   */
  setAllowedTableSize(bytes: number): void {
    if (bytes > this.allowedTableBytes) this.allowedTableBytes = bytes;
  }

  /** Decodes `block[start, end)`, appending the fields to `out`. */
  decode(block: Buffer, start: number, end: number, out: HeaderList): HpackResult {
    if (this.failed) return { ok: false, error: 'hpack', detail: 'decoder failed earlier' };
    const result = this.decodeBlock(block, start, end, out);
    if (!result.ok) this.failed = true;
    return result;
  }

  private decodeBlock(buf: Buffer, start: number, end: number, out: HeaderList): HpackResult {
    this.pos = start;
    let listBytes = 0;
    let sawField = false;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string | undefined;
      let value: string | null;
      if (b & 0x80) {
        // Indexed header field (§6.1).
        const index = this.readInteger(buf, end, 7);
        if (index <= 0) return fail(index < 0 ? 'bad integer' : 'index 0');
        name = this.nameAt(index);
        if (name === undefined) return fail(`index ${index} out of range`);
        value = this.valueAt(index);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only at the start of a block.
        if (sawField) return fail('table size update after a header field');
        const size = this.readInteger(buf, end, 5);
        if (size < 0) return fail('bad integer');
        const limit = Math.min(this.allowedTableBytes, Math.max(this.maxTableBytes, DEFAULT_HEADER_TABLE_SIZE));
        if (size > limit) return fail(`table size ${size} over ${limit}`);
        this.table.setMaxSize(size);
        continue;
      } else {
        // Literal (§6.2): with incremental indexing (01), never indexed (0001) or without (0000).
        const isIndexing = (b & 0xc0) === 0x40;
        const index = this.readInteger(buf, end, isIndexing ? 6 : 4);
        if (index < 0) return fail('bad integer');
        if (index === 0) {
          const literal = this.readString(buf, end);
          if (literal === null) return fail('bad name string');
          name = literal;
        } else {
          name = this.nameAt(index);
          if (name === undefined) return fail(`index ${index} out of range`);
        }
        value = this.readString(buf, end);
        if (value === null) return fail('bad value string');
        if (isIndexing) this.table.add(name, value);
      }
      sawField = true;
      listBytes += name.length + value.length + HPACK_ENTRY_OVERHEAD;
      if (listBytes > this.maxHeaderListBytes) {
        return { ok: false, error: 'too-large', detail: `header list over ${this.maxHeaderListBytes} bytes` };
      }
      out.push([name, value]);
    }
    return OK;
  }

  private nameAt(index: number): string | undefined {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![0];
    return this.table.name(index - STATIC_TABLE.length - 1);
  }

  private valueAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![1];
    return this.table.value(index - STATIC_TABLE.length - 1);
  }

  /** Integer with an N-bit prefix (§5.1); -1 when truncated or beyond 2^31-1. */
  private readInteger(buf: Buffer, end: number, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & max;
    if (value < max) return value;
    let multiplier = 1;
    for (;;) {
      if (this.pos >= end) return -1;
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * multiplier;
      if (value > MAX_INTEGER) return -1;
      if ((b & 0x80) === 0) return value;
      multiplier *= 128;
    }
  }

  /** String literal (§5.2), plain or Huffman; null when truncated or badly encoded. */
  private readString(buf: Buffer, end: number): string | null {
    if (this.pos >= end) return null;
    const isHuffman = (buf[this.pos]! & 0x80) !== 0;
    const length = this.readInteger(buf, end, 7);
    if (length < 0 || length > end - this.pos) return null;
    const from = this.pos;
    this.pos += length;
    if (isHuffman) return decodeHuffman(buf, from, this.pos);
    return buf.toString('latin1', from, this.pos);
  }
}

function fail(detail: string): HpackResult {
  return { ok: false, error: 'hpack', detail };
}

/** Creates a decoder (function form of `new HpackDecoder`). */
export function createHpackDecoder(options: HpackDecoderOptions): HpackDecoder {
  return new HpackDecoder(options);
}
