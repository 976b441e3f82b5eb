/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B).
 *
 * The Appendix B code is canonical: codes of one length are consecutive and ordered by
 * symbol, and every length's first code follows from the previous length. So the whole code
 * is determined by the 257 code lengths below, and decoding needs no tree: a 1024-entry table
 * resolves every code of up to 10 bits (all common header characters) in one lookup, and the
 * rare longer codes are found by comparing against each length's code range.
 */

/** Code length in bits of each symbol 0..255 and EOS (256), from RFC 7541 Appendix B. */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 0x20
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 0x30
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 0x40
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 0x50
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 0x60
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 0x70
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0
  30, // EOS
];

const EOS = 256;
const MAX_CODE_BITS = 30;
const PRIMARY_BITS = 10;
/** Primary table entries are `length << 9 | symbol`; 0 means "longer than PRIMARY_BITS". */
const SYMBOL_MASK = 0x1ff;
const LENGTH_SHIFT = 9;

/** Canonical codes derived from the lengths (exported for tests and test encoders). */
export const HUFFMAN_CODES: readonly number[] = buildCodes();

const firstCode = new Int32Array(MAX_CODE_BITS + 1);
const countByLength = new Int32Array(MAX_CODE_BITS + 1);
const offsetByLength = new Int32Array(MAX_CODE_BITS + 1);
const symbolsByCode = new Uint16Array(257);
const primary = new Uint32Array(1 << PRIMARY_BITS);
buildDecodeTables();

function symbolsInCodeOrder(): number[] {
  const symbols = Array.from({ length: 257 }, (_, s) => s);
  return symbols.sort((a, b) => HUFFMAN_CODE_LENGTHS[a]! - HUFFMAN_CODE_LENGTHS[b]! || a - b);
}

function buildCodes(): number[] {
  const codes = new Array<number>(257).fill(0);
  let code = 0;
  let prevLength = 0;
  for (const s of symbolsInCodeOrder()) {
    const length = HUFFMAN_CODE_LENGTHS[s]!;
    if (prevLength !== 0) code = (code + 1) * 2 ** (length - prevLength);
    prevLength = length;
    codes[s] = code;
  }
  return codes;
}

function buildDecodeTables(): void {
  const ordered = symbolsInCodeOrder();
  ordered.forEach((s, i) => {
    symbolsByCode[i] = s;
    const length = HUFFMAN_CODE_LENGTHS[s]!;
    if (countByLength[length] === 0) {
      firstCode[length] = HUFFMAN_CODES[s]!;
      offsetByLength[length] = i;
    }
    countByLength[length]!++;
    if (length <= PRIMARY_BITS) {
      const base = HUFFMAN_CODES[s]! << (PRIMARY_BITS - length);
      for (let j = 0; j < 1 << (PRIMARY_BITS - length); j++) primary[base + j] = (length << LENGTH_SHIFT) | s;
    }
  });
}

let scratch = Buffer.allocUnsafe(4096);

/**
 * Decodes the Huffman string in `src[start, end)` as latin1 (one char per octet, so header
 * bytes survive unchanged). Returns null on any error the RFC names: EOS inside the string,
 * padding longer than 7 bits, or padding that is not a prefix of EOS (all ones).
 */
export function decodeHuffman(src: Buffer, start: number, end: number): string | null {
  const maxOut = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < maxOut) scratch = Buffer.allocUnsafe(Math.max(maxOut, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let acc = 0; // holds the low `bits` unread bits
  let bits = 0;
  let i = start;
  for (;;) {
    while (bits <= 24 && i < end) {
      acc = ((acc << 8) | src[i++]!) >>> 0;
      bits += 8;
    }
    if (bits === 0) break;
    if (i >= end && bits <= 7) {
      const ones = (1 << bits) - 1;
      if ((acc & ones) === ones) break; // valid padding: a strict prefix of EOS
    }
    // The next 30 bits. With input left, `bits` is at least 25, so one more byte completes
    // the window; at the end of input the window is filled with ones (an EOS prefix).
    let window: number;
    if (bits >= MAX_CODE_BITS) window = acc >>> (bits - MAX_CODE_BITS);
    else if (i < end) window = ((acc << (MAX_CODE_BITS - bits)) | (src[i]! >>> (8 - MAX_CODE_BITS + bits))) >>> 0;
    else window = ((acc << (MAX_CODE_BITS - bits)) | ((1 << (MAX_CODE_BITS - bits)) - 1)) >>> 0;
    let entry = primary[window >>> (MAX_CODE_BITS - PRIMARY_BITS)]!;
    if (entry === 0) {
      for (let length = PRIMARY_BITS + 1; length <= MAX_CODE_BITS; length++) {
        const d = (window >>> (MAX_CODE_BITS - length)) - firstCode[length]!;
        if (d < countByLength[length]!) {
          entry = (length << LENGTH_SHIFT) | symbolsByCode[offsetByLength[length]! + d]!;
          break;
        }
      }
    }
    const length = entry >>> LENGTH_SHIFT;
    const symbol = entry & SYMBOL_MASK;
    if (symbol === EOS) return null;
    if (length <= bits) {
      bits -= length;
      acc &= (1 << bits) - 1;
    } else if (i < end) {
      // A long code reaching into the next byte (only codes of 26..30 bits do this).
      const fromNext = length - bits;
      bits = 8 - fromNext;
      acc = src[i++]! & ((1 << bits) - 1);
    } else {
      return null; // cut short, or padding longer than 7 bits / not all ones
    }
    out[n++] = symbol;
  }
  return out.toString('latin1', 0, n);
}
