/**
 * A stateful HPACK encoder (RFC 7541) for generated HTTP/2 conversations: it keeps its own
 * dynamic table, so a generator can ask for every representation a real peer may send —
 * indexed fields (static or dynamic), literals with incremental indexing, without indexing and
 * never indexed, with an indexed or a literal name, Huffman or plain strings — and dynamic
 * table size updates, and the bytes it writes stay decodable by a correct decoder.
 *
 * No npm HPACK encoder is kept up (hpack.js: last release 2017), and the few lines of state
 * here are what a test needs to know exactly which bytes it sends. The integer and Huffman
 * coders are the ones the js observer's own tests use (proxy/h2/test-support/hpack-encoder.ts);
 * the static table is RFC 7541 Appendix A as proxy/h2/static-table.ts holds it.
 * Strings are sent as their UTF-8 octets, or as raw octets when they start with `latin1:` (one
 * char per octet: for bytes that are not UTF-8, such as 0xff, NUL or a bare CR).
 */
import { STATIC_TABLE } from '../../proxy/h2/static-table.js';
import { encodeHuffman, encodeInteger } from '../../proxy/h2/test-support/hpack-encoder.js';

/** How one field is to be represented (the encoder falls back when the choice cannot apply). */
export type FieldRep =
  /** An indexed field when the exact pair is in a table; else a literal with incremental indexing. */
  | 'indexed'
  | 'incremental'
  | 'without'
  | 'never';

/** Encoding choices for one field. */
export interface FieldStyle {
  rep: FieldRep;
  /** Use an indexed name when the name is in a table (else a literal name). */
  isNameIndexed: boolean;
  isHuffman: boolean;
}

export const HPACK_ENTRY_OVERHEAD = 32;
const LATIN1 = 'latin1:';
/** The octets a header string stands for (see the file comment). */
export function octetsOf(s: string): Buffer {
  return s.startsWith(LATIN1) ? Buffer.from(s.slice(LATIN1.length), 'latin1') : Buffer.from(s, 'utf8');
}
const octets = (s: string) => octetsOf(s).length;

/** One direction's encoder: its dynamic table follows every block it writes. */
export class HpackEncoder {
  /** Newest first. */
  private readonly entries: Array<[string, string]> = [];
  private size = 0;
  maxSize = 4096;

  /** Entries currently in the dynamic table (newest first), for describing failures. */
  get table(): ReadonlyArray<readonly [string, string]> {
    return this.entries;
  }

  /**
   * Encodes one header block: the size updates first (each applied to the table as a decoder
   * would), then every field in the style `styles[i % styles.length]`.
   */
  encode(fields: ReadonlyArray<readonly [string, string]>, styles: readonly FieldStyle[], sizeUpdates: readonly number[] = []): Buffer {
    const out: Buffer[] = [];
    for (const size of sizeUpdates) {
      out.push(encodeInteger(size, 5, 0x20));
      this.setMaxSize(size);
    }
    fields.forEach(([name, value], i) => out.push(this.encodeField(name, value, styles.length === 0 ? PLAIN : styles[i % styles.length]!)));
    return Buffer.concat(out);
  }

  private encodeField(name: string, value: string, style: FieldStyle): Buffer {
    if (style.rep === 'indexed') {
      const exact = this.find(name, value);
      if (exact > 0) return encodeInteger(exact, 7, 0x80);
    }
    const rep = style.rep === 'indexed' ? 'incremental' : style.rep;
    const [prefixBits, firstBits] = rep === 'incremental' ? [6, 0x40] : rep === 'never' ? [4, 0x10] : [4, 0x00];
    const nameIndex = style.isNameIndexed ? this.findName(name) : 0;
    const head = nameIndex > 0 ? encodeInteger(nameIndex, prefixBits, firstBits) : Buffer.concat([Buffer.from([firstBits]), encodeString(name, style.isHuffman)]);
    const bytes = Buffer.concat([head, encodeString(value, style.isHuffman)]);
    if (rep === 'incremental') this.add(name, value);
    return bytes;
  }

  /** Index (1-based, static then dynamic) of the exact pair, 0 when absent. */
  private find(name: string, value: string): number {
    const s = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (s >= 0) return s + 1;
    const d = this.entries.findIndex(([n, v]) => n === name && v === value);
    return d >= 0 ? STATIC_TABLE.length + 1 + d : 0;
  }

  private findName(name: string): number {
    const s = STATIC_TABLE.findIndex(([n]) => n === name);
    if (s >= 0) return s + 1;
    const d = this.entries.findIndex(([n]) => n === name);
    return d >= 0 ? STATIC_TABLE.length + 1 + d : 0;
  }

  private add(name: string, value: string): void {
    const entry = octets(name) + octets(value) + HPACK_ENTRY_OVERHEAD;
    if (entry > this.maxSize) {
      this.entries.length = 0;
      this.size = 0;
      return;
    }
    this.evictTo(this.maxSize - entry);
    this.entries.unshift([name, value]);
    this.size += entry;
  }

  private setMaxSize(size: number): void {
    this.maxSize = size;
    this.evictTo(size);
  }

  private evictTo(size: number): void {
    while (this.size > size) {
      const [n, v] = this.entries.pop()!;
      this.size -= octets(n) + octets(v) + HPACK_ENTRY_OVERHEAD;
    }
  }
}

const PLAIN: FieldStyle = { rep: 'without', isNameIndexed: false, isHuffman: false };

/** A string literal of `text`'s octets (RFC 7541 §5.2). */
export function encodeString(text: string, isHuffman: boolean): Buffer {
  const raw = octetsOf(text);
  const bytes = isHuffman ? encodeHuffman(raw) : raw;
  return Buffer.concat([encodeInteger(bytes.length, 7, isHuffman ? 0x80 : 0), bytes]);
}

export { encodeInteger };
