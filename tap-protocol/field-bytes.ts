/**
 * Bytes as events show them (proxy/field-text.ts states the rule): valid UTF-8 sequences read as
 * text, any byte that is not part of one is escaped, never turned into another character. Shared
 * by the observers' field decoding and by the secret scrubber, which must spell a hidden value's
 * bytes exactly as an event does.
 */

/** `percent` for request targets (`%E9`), `backslash` for header values (`\xE9`). */
export type EscapeStyle = 'percent' | 'backslash';

/** `bytes` as text by the rule above. */
export function bytesAsFieldText(bytes: Buffer, style: EscapeStyle): string {
  let out = '';
  let runStart = 0;
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', runStart, i) + escapeByte(bytes[i]!, style);
    i++;
    runStart = i;
  }
  return out + bytes.toString('utf8', runStart);
}

/** Length of the valid UTF-8 sequence at `i` (1 for ASCII), 0 when the byte there starts none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1]!;
  // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8 (RFC 3629).
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return 0;
  return n;
}

function escapeByte(b: number, style: EscapeStyle): string {
  const hex = b.toString(16).toUpperCase().padStart(2, '0');
  return style === 'percent' ? `%${hex}` : `\\x${hex}`;
}
