/**
 * Test-only HPACK encoding helpers: a Huffman encoder built from the RFC 7541 Appendix B
 * code and literal-field encoders, to produce inputs for the decoder tests and hand-built
 * frames. Never used on the data path (meshtap only observes, it never encodes).
 */
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES } from '../huffman.js';

/** Huffman-encodes latin1 `text`, padding the last byte with ones (EOS prefix). */
export function encodeHuffman(text: string | Buffer): Buffer {
  const input = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const out: number[] = [];
  let acc = 0n;
  let bits = 0;
  for (const byte of input) {
    acc = (acc << BigInt(HUFFMAN_CODE_LENGTHS[byte]!)) | BigInt(HUFFMAN_CODES[byte]!);
    bits += HUFFMAN_CODE_LENGTHS[byte]!;
    while (bits >= 8) {
      bits -= 8;
      out.push(Number((acc >> BigInt(bits)) & 0xffn));
    }
    acc &= (1n << BigInt(bits)) - 1n;
  }
  if (bits > 0) out.push(Number(((acc << BigInt(8 - bits)) | ((1n << BigInt(8 - bits)) - 1n)) & 0xffn));
  return Buffer.from(out);
}

/** HPACK integer with an N-bit prefix; `firstBits` are the representation's high bits. */
export function encodeInteger(value: number, prefixBits: number, firstBits = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstBits | value]);
  const out = [firstBits | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** String literal, Huffman-coded when asked. */
export function encodeString(text: string, isHuffman = false): Buffer {
  const bytes = isHuffman ? encodeHuffman(text) : Buffer.from(text, 'latin1');
  return Buffer.concat([encodeInteger(bytes.length, 7, isHuffman ? 0x80 : 0), bytes]);
}

/** Literal header field without indexing, new name (never touches the dynamic table). */
export function encodeLiteral(name: string, value: string, isHuffman = false): Buffer {
  return Buffer.concat([Buffer.from([0x00]), encodeString(name, isHuffman), encodeString(value, isHuffman)]);
}

/** Literal header field with incremental indexing, new name. */
export function encodeIndexedLiteral(name: string, value: string, isHuffman = false): Buffer {
  return Buffer.concat([Buffer.from([0x40]), encodeString(name, isHuffman), encodeString(value, isHuffman)]);
}

/** A header block of literals without indexing for a list of fields. */
export function encodeBlock(fields: Array<[string, string]>, isHuffman = false): Buffer {
  return Buffer.concat(fields.map(([n, v]) => encodeLiteral(n, v, isHuffman)));
}
