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
import { bytesAsFieldText, type EscapeStyle } from '../tap-protocol/index.js';

export type { EscapeStyle } from '../tap-protocol/index.js';

const HAS_NON_ASCII = /[\u0080-\u00ff]/;

/** Decodes latin1 `text` (octets) by the rule above. ASCII text is returned as is, without copying. */
export function decodeFieldText(text: string, style: EscapeStyle): string {
  if (!HAS_NON_ASCII.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  return bytesAsFieldText(bytes, style);
}
