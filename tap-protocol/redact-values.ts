/**
 * "A value redacted in one field is redacted in every field": the secrets one exchange's event
 * carries (the credential of an `Authorization`, a `Cookie`'s values, an `X-Api-Key`, a
 * secret-named query parameter's value) are collected, and wherever else they appear in the
 * same event (the path, other header values, captured bodies, `grpcMessage`) they read
 * `[redacted]`. A token sent as `Authorization: Bearer T` and echoed in `?state=T` or in a
 * response body no longer shows through the field that was not named.
 *
 * Only values of MIN_SECRET_CHARS or more are scrubbed elsewhere: a cookie `lang=en` or `n=1`
 * would otherwise blank every `en` and `1` of the event, and a short `[redacted]` in a known
 * place would itself say what the value was. The header holding the value is redacted whatever
 * its length (tap-hub `shape`).
 */
import { REDACTED, type HeaderList } from './events.js';
import { bytesAsFieldText } from './field-bytes.js';

/** Shortest secret value scrubbed from other fields (a random token is far longer). */
export const MIN_SECRET_CHARS = 8;
/**
 * Most values (forms included) scrubbed from one event. Scrubbing costs one scan of the path,
 * header values and bodies per value: a request with thousands of cookies would cost thousands of
 * scans of a 64 KiB body on the sidecar's JS thread. Past the bound, further values are not
 * scrubbed elsewhere (their own header is still redacted) and the bound is counted.
 */
export const MAX_SCRUBBED_SECRETS = 32;

/** The first white space (what `trim` removes: SP, HTAB, NBSP, …) ends an auth-scheme. */
const WHITE_SPACE = /\s/;

/**
 * The secret parts of a sensitive header's value (`lowerName` in lower case), each passed to
 * `add`: an `Authorization` credential (and a Basic password, and its user name when the password
 * is shorter than MIN_SECRET_CHARS: `KEY:`), each cookie value (of pairs joined by `;` or `,`), a
 * `Set-Cookie`'s value, or the whole value of any other sensitive header. The scheme ends at
 * any white space, not only a space: servers that split on white space take `Bearer<TAB>T`, and
 * with `Bearer<TAB>T` as the secret, T alone showed in the path (review11).
 */
export function headerSecrets(lowerName: string, value: string, add: (secret: string) => void): void {
  const v = value.trim();
  if (lowerName === 'authorization' || lowerName === 'proxy-authorization') {
    const sp = v.search(WHITE_SPACE);
    if (sp < 0) return add(v);
    const credential = v.slice(sp).trim();
    add(credential);
    if (v.slice(0, sp).toLowerCase() === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        const password = decoded.slice(colon + 1);
        add(password);
        // An empty or placeholder password (`KEY:`, `KEY:X`): the user name is the credential (review11 F6).
        if (password.length < MIN_SECRET_CHARS) add(decoded.slice(0, colon));
      }
    }
    return;
  }
  if (lowerName === 'cookie') {
    for (const pair of v.split(';')) {
      cookieValue(pair, add);
      // Pairs joined with `,` (`a=1, session=S`: some clients and proxies join cookies so): each
      // pair's value too, besides the whole (a value may itself hold a comma).
      if (pair.indexOf(',') >= 0) for (const part of pair.split(',')) cookieValue(part, add);
    }
    return;
  }
  if (lowerName === 'set-cookie') return cookieValue(v.split(';', 1)[0]!, add);
  add(v);
}

function cookieValue(pair: string, add: (secret: string) => void): void {
  const eq = pair.indexOf('=');
  let value = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  add(value);
}

/**
 * A growing set of secrets to scrub: values shorter than MIN_SECRET_CHARS and `[redacted]` are
 * ignored; a value's percent-encoded and percent-decoded forms are added with it (a token with
 * `/`, `+` or `=` travels encoded in a path). A value holding a byte that is not UTF-8 reads
 * `\xE9` in a header and `%E9` in a path (proxy/field-text.ts): each spelling is added with the
 * other (small11, review10 #10: a key with a raw 0xE9 byte echoed in `?state=` showed in full).
 * A value whose non-ASCII characters are all Latin-1 also gets its Latin-1 spellings (`%E9`,
 * `\xE9` for `é`), how an ISO-8859-1 app echoes it, and a value holding such bytes (`\xE9`, or
 * `%E9` that is not UTF-8) gets them read as Latin-1 (`é`), how a UTF-8 app echoes it (sec12).
 */
export class SecretSet {
  readonly values: string[] = [];
  /** A value was left out: MAX_SCRUBBED_SECRETS reached. */
  isFull = false;

  add(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS || secret === REDACTED) return;
    if (this.values.length >= MAX_SCRUBBED_SECRETS) {
      this.isFull = true;
      return;
    }
    this.addOne(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) this.addOne(encoded);
    const latin1 = latin1Bytes(secret);
    if (latin1 !== undefined) {
      this.addOne(latin1.replace(LATIN1_CHAR, (c) => `%${hex2(c)}`));
      this.addOne(latin1.replace(LATIN1_CHAR, (c) => `\\x${hex2(c)}`));
    }
    if (secret.indexOf('\\x') >= 0) {
      const escaped = byteEscapesAsPercent(secret);
      if (escaped !== secret) {
        // The same bytes as a path shows them (`\xA9` → `%A9`): kept however short, since the value
        // spelled so was long enough (`驀₀a\xA9a` is 8 characters, `驀₀a%A9a` 7: flake13, session 13).
        this.addOne(escaped, true);
        // The same bytes read as Latin-1 by the app that echoes them (in UTF-8: `é`, or `%C3%A9` in a URL).
        this.addOne(byteEscapesAsLatin1(secret));
      }
    }
    if (secret.indexOf('%') >= 0) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(secret);
      } catch {
        // Not UTF-8 (or a stray `%`): the bytes as a header shows them, a non-UTF-8 byte as `\xHH`.
        decoded = decodeBytesAsHeaderText(secret);
      }
      this.addOne(decoded);
      if (decoded.indexOf('\\x') >= 0) {
        const latin1 = byteEscapesAsLatin1(decoded);
        if (latin1 !== decoded) this.addOne(latin1);
      }
    }
  }

  /** Drops `secret` (a value the viewer may see through a revealed header). */
  remove(secret: string): void {
    for (let i = this.values.length - 1; i >= 0; i--) if (this.values[i] === secret) this.values.splice(i, 1);
  }

  /** `evenShort`: a re-spelling of a value that was long enough, the same bytes escaped otherwise. */
  private addOne(secret: string, evenShort = false): void {
    if ((!evenShort && secret.length < MIN_SECRET_CHARS) || secret === REDACTED || this.values.includes(secret)) return;
    if (this.values.length >= MAX_SCRUBBED_SECRETS) {
      this.isFull = true;
      return;
    }
    // Longest first, so a secret holding another is replaced whole.
    let at = this.values.length;
    while (at > 0 && this.values[at - 1]!.length < secret.length) at--;
    this.values.splice(at, 0, secret);
  }
}

const BYTE_ESCAPE = /\\x([89A-Fa-f][0-9A-Fa-f])/g;

/** `value` with each `\xHH` of a non-ASCII byte as the Latin-1 character of that byte (`\xE9` → `é`). */
function byteEscapesAsLatin1(value: string): string {
  return value.replace(BYTE_ESCAPE, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A character of U+0080-U+00FF: one byte in Latin-1. */
const LATIN1_CHAR = /[\u0080-\u00ff]/g;
const HAS_LATIN1 = /[\u0080-\u00ff]/;
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

function hex2(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase();
}

/**
 * `value` when it holds a character of U+0080-U+00FF and none beyond: a value an app on ISO-8859-1
 * (servlet containers, PHP, classic ASP) writes as one byte each, so `é` (C3 A9 as UTF-8 in the
 * header) is echoed as `%E9` in a URL, or as the byte E9 (`\xE9`) in another header (small11's
 * leftover: each spelling is added with the others). Else undefined.
 */
function latin1Bytes(value: string): string | undefined {
  return HAS_LATIN1.test(value) && !BEYOND_LATIN1.test(value) ? value : undefined;
}

/** `value` with each `\xHH` of a non-ASCII byte (how a header value shows a byte that is not UTF-8) as `%HH`, how a URL carries it. */
function byteEscapesAsPercent(value: string): string {
  return value.replace(BYTE_ESCAPE, (_m, hex: string) => `%${hex.toUpperCase()}`);
}

/**
 * `value`'s bytes, its `%HH` escapes decoded (a `%` without two hex digits stays), read as an
 * event reads a header value (proxy/field-text.ts): valid UTF-8 as characters, any other byte as
 * `\xHH`. For a value decodeURIComponent refuses (`tok%E9n…`: E9 alone is not UTF-8).
 */
function decodeBytesAsHeaderText(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; ) {
    if (value.charCodeAt(i) === 0x25 && i + 2 < value.length) {
      const h = hexValue(value.charCodeAt(i + 1));
      const l = hexValue(value.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes.push((h << 4) | l);
        i += 3;
        continue;
      }
    }
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      bytes.push(c);
      i++;
      continue;
    }
    const ch = String.fromCodePoint(value.codePointAt(i)!);
    for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    i += ch.length;
  }
  return bytesAsFieldText(Buffer.from(bytes), 'backslash');
}

/**
 * `text` with every secret in `secrets` (longest first) as `[redacted]`, however it is
 * percent-encoded; the same string when none occurs. `keepLength`: each match is `[redacted]`
 * repeated and cut to the match's own length (a binary body's Latin-1 view: protobuf and gRPC
 * length prefixes must still hold).
 */
export function scrubSecrets(text: string, secrets: readonly string[], keepLength = false): string {
  if (secrets.length === 0) return text;
  let out = text;
  // Spellings first: a value's escaped form can begin inside an escape (`%30%20…` holds `0%20…`).
  const hasPercent = out.indexOf('%') >= 0;
  if (hasPercent || out.indexOf('+') >= 0) {
    const forms = normalizedForms(secrets);
    if (hasPercent) out = scrubNormalized(out, forms.plain, false, keepLength);
    // A `+` may also be one decoding away (`%2B`: a form's space encoded once more).
    if (forms.spaced.length > 0 && (hasPercent || out.indexOf('+') >= 0)) out = scrubNormalized(out, forms.spaced, true, keepLength);
  }
  return scrubSecretsAsWritten(out, secrets, keepLength);
}

/** `[redacted]` repeated and cut to `length` characters. */
export function lengthMask(length: number): string {
  return REDACTED.repeat(Math.ceil(length / REDACTED.length)).slice(0, length);
}


/**
 * `text` with every secret in `secrets` as `[redacted]` where it occurs as written (or in the one
 * escaped spelling SecretSet adds), not in other spellings. What scrubSecrets was before review10;
 * the metric labels use it until the native engine's port (native/src/core/metrics-secrets.cc)
 * has the spellings pass too, so that both engines make the same labels.
 */
export function scrubSecretsAsWritten(text: string, secrets: readonly string[], keepLength = false): string {
  let out = text;
  for (const s of secrets) if (s.length > 0 && out.indexOf(s) >= 0) out = out.split(s).join(keepLength ? lengthMask(s.length) : REDACTED);
  return out;
}

/*
 * Other spellings (review10). SecretSet adds one percent-encoded spelling of a value (upper-case
 * hex, every reserved character escaped), but percent-encoding is case-insensitive and clients
 * differ: .NET's HttpUtility.UrlEncode writes `%2f`, others escape only some characters, forms
 * write a space as `+`. `Authorization: Bearer ab+cd/ef==` echoed as `?next=ab%2bcd%2fef%3d%3d`
 * showed in full in the path, the Referer and a filter's view. So a text holding a `%` is also
 * searched in a normalized view (escapes of characters decoded, other escapes' hex upper-cased), for the
 * secrets normalized the same way, and what matches there is redacted in the text. No RegExp is
 * built per event (compiling one cost ~130 µs); the view costs one pass over the text.
 */

interface NormalizedForms {
  /** The secrets' normalized spellings (8+ characters, or as long as their secret), longest first. */
  plain: string[];
  /** The same with a space for each `+`-able space, for secrets holding a space (form bodies). */
  spaced: string[];
}
// One event's fields are scrubbed one after another with one secret list: the last list's forms are kept.
let lastSecrets: readonly string[] | undefined;
let lastLength = 0;
let lastForms: NormalizedForms | undefined;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/**
 * `text` with `%XX` escapes of ASCII bytes and of UTF-8 characters decoded and any other `%XX`'s hex in upper case (and, with
 * `plusIsSpace`, `+` as a space), and for each character of the view the index in `text` where
 * it begins (`starts[view.length]` is `text.length`). Undefined when the view is `text` itself.
 */
function normalizeEscapes(text: string, plusIsSpace: boolean): { view: string; starts: Int32Array } | undefined {
  if (text.indexOf('%') < 0 && !(plusIsSpace && text.indexOf('+') >= 0)) return undefined;
  const starts = new Int32Array(text.length + 1);
  let view = '';
  let changed = false;
  let n = 0;
  let runFrom = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    let replacement: string | undefined;
    let width = 1;
    if (c === 0x25 && i + 2 < text.length) {
      const h = hexValue(text.charCodeAt(i + 1));
      const l = hexValue(text.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        const byte = (h << 4) | l;
        const utf8Width = byte < 0x80 ? 0 : escapedUtf8Width(text, i, byte);
        if (byte < 0x80) replacement = String.fromCharCode(byte);
        else if (utf8Width > 0) replacement = decodeURIComponent(text.slice(i, i + utf8Width));
        else replacement = `%${text.slice(i + 1, i + 3).toUpperCase()}`;
        width = utf8Width > 0 ? utf8Width : 3;
      }
    } else if (plusIsSpace && c === 0x2b) {
      replacement = ' ';
    }
    if (replacement === undefined) {
      starts[n++] = i;
      i++;
      continue;
    }
    if (replacement !== text.slice(i, i + width)) changed = true;
    // Every character of a replacement begins at its escape: a match cannot end inside one.
    for (let k = 0; k < replacement.length; k++) starts[n++] = i;
    view += text.slice(runFrom, i) + replacement;
    i += width;
    runFrom = i;
  }
  if (!changed) return undefined;
  view += text.slice(runFrom);
  starts[n] = text.length;
  return { view, starts };
}

/**
 * The length in `text` of the escaped UTF-8 sequence of one character starting at `at` (`%C3%A9`:
 * 6), or 0 when the escapes there are not one (then the lead escape stands alone).
 */
function escapedUtf8Width(text: string, at: number, lead: number): number {
  const bytes = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (bytes === 0 || at + bytes * 3 > text.length) return 0;
  for (let b = 1; b < bytes; b++) {
    const p = at + b * 3;
    if (text.charCodeAt(p) !== 0x25) return 0;
    const h = hexValue(text.charCodeAt(p + 1));
    const l = hexValue(text.charCodeAt(p + 2));
    if (h < 0 || l < 0 || ((h << 4) | l) < 0x80 || ((h << 4) | l) > 0xbf) return 0;
  }
  try {
    decodeURIComponent(text.slice(at, at + bytes * 3)); // overlong forms and surrogates are refused here
    return bytes * 3;
  } catch {
    return 0;
  }
}

function normalizedForms(secrets: readonly string[]): NormalizedForms {
  if (secrets === lastSecrets && secrets.length === lastLength && lastForms) return lastForms;
  const plain = new Set<string>();
  const spaced = new Set<string>();
  for (const s of secrets) {
    const p = normalizeEscapes(s, false)?.view ?? s;
    // A form as long as its secret only had its hex upper-cased: kept like the secret (SecretSet keeps
    // a byte re-spelling however short); one that decoding shortened below 8 is not (`%41%42%43`: `ABC`).
    const kept = p.length >= MIN_SECRET_CHARS || p.length === s.length;
    if (kept) plain.add(p);
    if (kept && p.indexOf(' ') >= 0) spaced.add(p);
  }
  const longestFirst = (set: Set<string>) => [...set].sort((a, b) => b.length - a.length);
  lastSecrets = secrets;
  lastLength = secrets.length;
  lastForms = { plain: longestFirst(plain), spaced: longestFirst(spaced) };
  return lastForms;
}

/**
 * How many times a text is percent-decoded to look for a secret: a value nested in a URL that is
 * itself a parameter (an OAuth `redirect_uri`, a login's `next=`) is encoded twice (`%252F`), once
 * more when that URL is passed on again. Bounded: each level is one more pass over the text.
 */
const MAX_ESCAPE_LEVELS = 3;

/**
 * `text` with what matches one of `forms` in its normalized view, or in the view of that view (up to
 * MAX_ESCAPE_LEVELS decodings), as `[redacted]` (overlapping matches as one).
 */
function scrubNormalized(text: string, forms: readonly string[], plusIsSpace: boolean, keepLength: boolean): string {
  if (forms.length === 0) return text;
  const ranges: Array<[number, number]> = [];
  collectNormalizedMatches(text, undefined, forms, plusIsSpace, ranges);
  return redactRanges(text, ranges, keepLength);
}

/**
 * Adds to `ranges` where one of `forms` matches in the normalized view of `view`, or in the view of
 * that view (up to MAX_ESCAPE_LEVELS decodings), as indexes in the text: `toText` maps each
 * character of `view` to where it begins there (`view` is the text itself when undefined).
 */
function collectNormalizedMatches(view: string, toText: Int32Array | undefined, forms: readonly string[], plusIsSpace: boolean, ranges: Array<[number, number]>): void {
  for (let level = 1; level <= MAX_ESCAPE_LEVELS; level++) {
    const deeper = normalizeEscapes(view, plusIsSpace);
    if (deeper === undefined) return;
    const length = deeper.view.length;
    let starts = deeper.starts;
    if (toText !== undefined) {
      // Each character of the deeper view begins in the text where its character of this view began.
      starts = new Int32Array(length + 1);
      for (let k = 0; k <= length; k++) starts[k] = toText[deeper.starts[k]!]!;
    }
    for (const f of forms) {
      for (let at = deeper.view.indexOf(f); at >= 0; at = deeper.view.indexOf(f, at + f.length)) ranges.push([starts[at]!, endInText(starts, at + f.length, length)]);
    }
    view = deeper.view;
    toText = starts;
  }
}

/** `text` with each of `ranges` (start, end; any order, overlapping ones as one) as `[redacted]` (`keepLength`: cut to the range's length); `text` itself for none. */
function redactRanges(text: string, ranges: Array<[number, number]>, keepLength = false): string {
  if (ranges.length === 0) return text;
  ranges.sort((x, y) => x[0] - y[0]);
  let out = '';
  let from = 0;
  let [start, end] = ranges[0]!;
  for (let r = 1; r < ranges.length; r++) {
    const [a, b] = ranges[r]!;
    if (a < end) {
      end = Math.max(end, b);
      continue;
    }
    out += text.slice(from, start) + (keepLength ? lengthMask(end - start) : REDACTED);
    from = end;
    start = a;
    end = b;
  }
  return out + text.slice(from, start) + (keepLength ? lengthMask(end - start) : REDACTED) + text.slice(end);
}

/** Where a match ending before the view's character `k` ends in the text (past the whole escape it ends in). */
function endInText(starts: Int32Array, k: number, viewLength: number): number {
  const last = starts[k - 1]!;
  let i = k;
  while (i < viewLength && starts[i]! <= last) i++;
  return starts[i]!;
}

/*
 * JSON string escapes (review14). A body that echoes a hidden value inside a JSON string may spell
 * it with escapes: PHP's json_encode writes `/` as `\/` by default, .NET's System.Text.Json `+` as
 * `\u002B`, Python's json.dumps every non-ASCII character as `\u00e4`. `Bearer ab/cd…` echoed as
 * `{"token":"ab\/cd…"}` showed in full in the captured body. A text holding a `\` is also searched
 * in its JSON-unescaped view, for the values as written and (where the view holds a `%`) in their
 * normalized percent spellings, and what matches there is redacted in the text. HTML character
 * references likewise (`&#x2F;` as OWASP's encoder writes `/`, `&#x3D;` as Handlebars writes `=`,
 * `&amp;`): an HTML page echoing a token; and JavaScript's `\xHH` (review15: ESAPI's
 * encodeForJavaScript writes `/` as `\x2F`). Bodies only: paths and labels carry neither, and the
 * label path must stay the C++ one's (metrics-secrets.cc).
 */

/**
 * How many escape views of a body are searched: a value escaped twice (review15) is common where one
 * format carries another. Go's encoding/json writes html/template's `&#43;` (its `+`) as `\u0026#43;`;
 * a JSON document sent as a string inside another (an event's payload, a log line) doubles its
 * escapes (`\\\/`); an HTML page holding a JSON island the other way round. Each view is one more pass.
 */
const MAX_ESCAPE_VIEWS = 2;

/** A character some JSON writer escapes (see scrubEscapedSecrets). */
const JSON_ESCAPABLE = /[^A-Za-z0-9 ._-]/;

/** The character a JSON escape `\c` stands for (c one of `"\/bfnrt`), else undefined. */
function jsonEscapedChar(c: number): string | undefined {
  switch (c) {
    case 0x22:
      return '"';
    case 0x5c:
      return '\\';
    case 0x2f:
      return '/';
    case 0x62:
      return '\b';
    case 0x66:
      return '\f';
    case 0x6e:
      return '\n';
    case 0x72:
      return '\r';
    case 0x74:
      return '\t';
    default:
      return undefined;
  }
}

/** The byte two hex digits at `at` spell, or -1. */
function hexByteAt(text: string, at: number): number {
  if (at + 1 >= text.length) return -1;
  const h = hexValue(text.charCodeAt(at));
  const l = hexValue(text.charCodeAt(at + 1));
  return h >= 0 && l >= 0 ? (h << 4) | l : -1;
}

/** Named character references HTML encoders write for the characters a token may hold. */
const HTML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/', equals: '=', plus: '+', num: '#', percnt: '%', colon: ':', excl: '!', quest: '?', commat: '@', dollar: '$', lowbar: '_', grave: '`', tilde: '~' };

/**
 * The character an HTML character reference at `text[at]` (`&`) stands for and the reference's length
 * (`&#x2F;`, `&#47;`, `&sol;`: with its `;`), or undefined.
 */
function htmlEntityAt(text: string, at: number): [string, number] | undefined {
  // A reference is short: look at most 10 characters ahead (a form body's many `&`, none ending in `;`, cost no scan to its end).
  let end = at + 2;
  while (end < text.length && end - at <= 10 && text.charCodeAt(end) !== 0x3b) end++;
  if (end >= text.length || text.charCodeAt(end) !== 0x3b) return undefined;
  const body = text.slice(at + 1, end);
  let code: number;
  if (/^#[xX][0-9A-Fa-f]{1,6}$/.test(body)) code = parseInt(body.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(body)) code = parseInt(body.slice(1), 10);
  else return HTML_NAMED[body] !== undefined ? [HTML_NAMED[body]!, end + 1 - at] : undefined;
  return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? [String.fromCodePoint(code), end + 1 - at] : undefined;
}

/**
 * Where the first JSON escape or HTML reference of `text` begins, or -1: found with indexOf, so a
 * body with many a `&` or `\\` that begins none (a form's `a=1&b=2`) costs no walk character by
 * character (64 KiB form: ~1.5 ms of CPU before).
 */
function firstEscapeAt(text: string): number {
  let first = -1;
  for (let i = text.indexOf('\\'); i >= 0 && i + 1 < text.length; i = text.indexOf('\\', i + 1)) {
    const c = text.charCodeAt(i + 1);
    if (jsonEscapedChar(c) !== undefined || c === 0x75 || (c === 0x78 && hexByteAt(text, i + 2) >= 0)) {
      first = i;
      break;
    }
  }
  for (let i = text.indexOf('&'); i >= 0 && (first < 0 || i < first); i = text.indexOf('&', i + 1)) {
    if (htmlEntityAt(text, i) !== undefined) return i;
  }
  return first;
}

/**
 * `text` with its JSON string escapes (`\/`, `\\`, `\"`, `\n`…, `\uXXXX` as one UTF-16 unit each;
 * JavaScript's `\xHH` too) and HTML character references (`&#x2F;`, `&#47;`, `&sol;`) decoded, and for
 * each character of the view the index in `text` where it begins (`starts[view.length]` is
 * `text.length`). Undefined when `text` holds neither.
 */
function unescapedView(text: string): { view: string; starts: Int32Array } | undefined {
  let i = firstEscapeAt(text);
  if (i < 0) return undefined;
  const starts = new Int32Array(text.length + 1);
  let view = '';
  let n = 0;
  let runFrom = 0;
  let changed = false;
  for (let k = 0; k < i; k++) starts[n++] = k;
  while (i < text.length) {
    let replacement: string | undefined;
    let width = 2;
    if (text.charCodeAt(i) === 0x5c && i + 1 < text.length) {
      const c = text.charCodeAt(i + 1);
      replacement = jsonEscapedChar(c);
      if (replacement === undefined && c === 0x75 && i + 5 < text.length) {
        const a = hexValue(text.charCodeAt(i + 2));
        const b = hexValue(text.charCodeAt(i + 3));
        const c2 = hexValue(text.charCodeAt(i + 4));
        const d = hexValue(text.charCodeAt(i + 5));
        if ((a | b | c2 | d) >= 0) {
          replacement = String.fromCharCode((a << 12) | (b << 8) | (c2 << 4) | d);
          width = 6;
        }
      } else if (replacement === undefined && c === 0x78) {
        // `\xHH`: a JavaScript string escape (ESAPI's encodeForJavaScript writes `/` as `\x2F`).
        const byte = hexByteAt(text, i + 2);
        if (byte >= 0) {
          replacement = String.fromCharCode(byte);
          width = 4;
        }
      }
    } else if (text.charCodeAt(i) === 0x26) {
      const entity = htmlEntityAt(text, i);
      if (entity !== undefined) [replacement, width] = entity;
    }
    if (replacement === undefined) {
      starts[n++] = i;
      i++;
      continue;
    }
    changed = true;
    for (let k = 0; k < replacement.length; k++) starts[n++] = i;
    view += text.slice(runFrom, i) + replacement;
    i += width;
    runFrom = i;
  }
  if (!changed) return undefined;
  view += text.slice(runFrom);
  starts[n] = text.length;
  return { view, starts };
}

/**
 * `text` (a captured body) with every secret in `secrets` as `[redacted]` where it occurs spelled
 * with JSON string escapes or HTML character references, up to MAX_ESCAPE_VIEWS layers of them, as
 * written or percent-encoded inside, or base64-encoded; the same string when none does. Run after
 * scrubSecrets. `keepLength` as there.
 */
export function scrubEscapedSecrets(text: string, secrets: readonly string[], keepLength = false): string {
  const ranges: Array<[number, number]> = [];
  collectBase64Matches(text, secrets, ranges);
  // JSON writers escape `"`, `\`, `/`, control and non-ASCII characters, and some `+ < > & ' =`;
  // HTML encoders (OWASP's) all but letters, digits, `,._-` and space. Values of only letters, digits,
  // `-._` and spaces (a JWT, a hex or base64url token) read the same in the view: the text's own pass
  // found them.
  if (secrets.some((s) => JSON_ESCAPABLE.test(s))) collectEscapedMatches(text, secrets, ranges);
  return redactRanges(text, ranges, keepLength);
}

/** The matches of scrubEscapedSecrets' escape views, added to `ranges` (text positions). */
function collectEscapedMatches(text: string, secrets: readonly string[], ranges: Array<[number, number]>): void {
  let view = text;
  let toText: Int32Array | undefined;
  for (let level = 1; level <= MAX_ESCAPE_VIEWS; level++) {
    const unescaped = unescapedView(view);
    if (unescaped === undefined) break;
    const length = unescaped.view.length;
    let starts = unescaped.starts;
    if (toText !== undefined) {
      // Each character of the deeper view begins in the text where its character of this view began.
      starts = new Int32Array(length + 1);
      for (let k = 0; k <= length; k++) starts[k] = toText[unescaped.starts[k]!]!;
    }
    for (const s of secrets) {
      for (let at = unescaped.view.indexOf(s); at >= 0; at = unescaped.view.indexOf(s, at + s.length)) ranges.push([starts[at]!, endInText(starts, at + s.length, length)]);
    }
    // Percent spellings inside the escapes, nested as in a path (scrubNormalized).
    collectNormalizedMatches(unescaped.view, starts, normalizedForms(secrets).plain, false, ranges);
    view = unescaped.view;
    toText = starts;
  }
}

/*
 * Base64 (review16). An app that echoes a hidden value inside a base64 blob (a JWT-like state, a
 * cursor, a data: URL, a protobuf field a JSON gateway renders as base64) showed it to anyone who
 * decodes the blob. A value's bytes encode to the same characters wherever they sit in a blob, up
 * to where they start in a 3-byte group: so each value has three base64 cores (the characters
 * made of its bits only), in the standard and the URL-safe alphabet, searched in the body as
 * written. A match is redacted with the character on each side that holds bits of the value and of
 * its neighbours. Values of MIN_SECRET_CHARS bytes or more have cores of 10+ characters; a match
 * by chance is 64^-10 per place.
 */

const BASE64_CHAR = /[A-Za-z0-9+/_-]/;

interface Base64Core {
  text: string;
  /** Characters on each side holding bits of the value and of what is next to it in the blob. */
  before: number;
  after: number;
}

// One event's fields are scrubbed one after another with one secret list: the last list's cores are kept.
let lastBase64Secrets: readonly string[] | undefined;
let lastBase64Length = 0;
let lastBase64Cores: Base64Core[] = [];

function base64Cores(secrets: readonly string[]): Base64Core[] {
  if (secrets === lastBase64Secrets && secrets.length === lastBase64Length) return lastBase64Cores;
  const cores: Base64Core[] = [];
  const seen = new Set<string>();
  for (const s of secrets) {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length < MIN_SECRET_CHARS) continue;
    for (let shift = 0; shift < 3; shift++) {
      const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
      const startBit = 8 * shift;
      const endBit = 8 * (shift + bytes.length);
      const first = Math.ceil(startBit / 6);
      const last = Math.floor(endBit / 6);
      const core = encoded.slice(first, last);
      const before = first * 6 > startBit ? 1 : 0;
      const after = endBit > last * 6 ? 1 : 0;
      for (const text of [core, core.replace(/\+/g, '-').replace(/\//g, '_')]) {
        if (seen.has(text)) continue;
        seen.add(text);
        cores.push({ text, before, after });
      }
    }
  }
  lastBase64Secrets = secrets;
  lastBase64Length = secrets.length;
  lastBase64Cores = cores;
  return cores;
}

/** Where `text` holds a hidden value base64-encoded (standard or URL-safe, any alignment), added to `ranges`. */
function collectBase64Matches(text: string, secrets: readonly string[], ranges: Array<[number, number]>): void {
  for (const core of base64Cores(secrets)) {
    for (let at = text.indexOf(core.text); at >= 0; at = text.indexOf(core.text, at + core.text.length)) {
      const start = core.before > 0 && at > 0 && BASE64_CHAR.test(text[at - 1]!) ? at - 1 : at;
      const end = at + core.text.length;
      ranges.push([start, core.after > 0 && end < text.length && BASE64_CHAR.test(text[end]!) ? end + 1 : end]);
    }
  }
}
