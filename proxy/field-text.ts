/**
 * How the bytes of a header value or a request target read in events: one rule for HTTP/1 and
 * HTTP/2, for values and targets alike. ASCII reads as is; valid UTF-8 reads as UTF-8 (what
 * clients mean by `/café`); a byte that is not part of valid UTF-8 is shown escaped, never
 * turned into another character (latin1 would make `\xe9` read as `é`, UTF-8 replacement
 * would lose it). Targets escape as `%HH`, which is how a URL carries any byte (RFC 3986 §2.1),
 * so the path stays a usable URL; header values escape as `\xHH`.
 *
 * Input is latin1 text (one char per octet), as heads and HPACK strings are kept.
 */
import { isUtf8 } from 'node:buffer';

/** `percent` for request targets (`%E9`), `backslash` for header values (`\xE9`). */
export type EscapeStyle = 'percent' | 'backslash';

const HAS_NON_ASCII = /[\u0080-\u00ff]/;

/** Decodes latin1 `text` (octets) by the rule above. ASCII text is returned as is, without copying. */
export function decodeFieldText(text: string, style: EscapeStyle): string {
  if (!HAS_NON_ASCII.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
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
