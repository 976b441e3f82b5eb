/**
 * Secrets inside captured bodies: values of well-known secret fields in JSON and in form bodies
 * (`password`, `token`, `client_secret`, …, plus `--redact-body-field NAME|JSONPATH`) and card
 * numbers anywhere in text (13–19 digits with a card network's prefix that pass the Luhn check)
 * read `[redacted]`. Applied where events leave the sidecar (tap-hub `shape`: live taps, history,
 * and so recordings), unless the subscriber's grant reveals every header (`--reveal-header '*'`,
 * which needs the body permission): body fields are revealed exactly as headers are.
 *
 * The JSON scanner is tolerant: it rewrites values in place (the rest of the text stays byte for
 * byte) and works on a body cut at the capture limit, where a parser would give up and leak. The
 * trade-off: a field whose name is split or escaped oddly (`"pass\u0077ord"`) is not recognized.
 */
import { isUtf8 } from 'node:buffer';
import { listCodings } from './http1/framing.js';
import {
  bodyCodings,
  decodeCodings,
  decodedTapBody,
  decodeGrpcFrames,
  DEFAULT_SECRET_FIELDS,
  grpcEncodingOf,
  lengthMask,
  REDACTED,
  scrubEscapedSecrets,
  scrubSecrets,
  type HeaderList,
  type TapBody,
} from '../tap-protocol/index.js';

/**
 * Field names redacted by default (matched case-insensitively, in JSON and form bodies): the
 * list query strings share (tap-protocol/redact-query.ts), so a `token` is secret wherever it is.
 */
export const DEFAULT_SECRET_BODY_FIELDS: readonly string[] = DEFAULT_SECRET_FIELDS;

export interface BodyRedactionRules {
  /** Lower-case field names, anywhere in a JSON document or form. */
  fields: ReadonlySet<string>;
  /** JSON paths (`$.user.ssn`, `$.items[*].card`): segments, `*` for any key or index. */
  paths: ReadonlyArray<readonly string[]>;
  /** Redact card numbers (Luhn-checked) anywhere in text bodies. */
  cards: boolean;
}

/** Parses `--redact-body-field` values (names or JSON paths starting with `$`) added to the defaults. */
export function bodyRedactionRules(extra: readonly string[] = [], defaults = DEFAULT_SECRET_BODY_FIELDS): BodyRedactionRules {
  const fields = new Set(defaults.map((f) => f.toLowerCase()));
  const paths: string[][] = [];
  for (const f of extra) {
    if (f.startsWith('$')) paths.push(parseJsonPath(f));
    else fields.add(f.toLowerCase());
  }
  return { fields, paths, cards: true };
}

/** `$.a.b[*].c` / `$['a'][0]` → ['a', 'b', '*', 'c']; throws on anything else. */
export function parseJsonPath(path: string): string[] {
  const out: string[] = [];
  const re = /\.([A-Za-z_$][\w$-]*|\*)|\[(\*|\d+|'[^']*'|"[^"]*")\]/y;
  let at = 1;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) throw new Error(`JSON path '${path}' is not of the form $.a.b[*].c`);
    const seg = m[1] ?? m[2]!;
    out.push(seg.startsWith("'") || seg.startsWith('"') ? seg.slice(1, -1) : seg);
    at = re.lastIndex;
  }
  if (out.length === 0) throw new Error(`JSON path '${path}' names no field`);
  return out;
}

/** Card network prefixes (IIN ranges) checked before Luhn: a timestamp or an id is rarely one. */
const CARD_PREFIX = /^(4|5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|6011|65|64[4-9]|62|3(0[0-5]|[68])|35(2[89]|[3-8]\d))/;

/** Whether a string of 13–19 digits is a card number (known prefix, Luhn checksum). */
export function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19 || !CARD_PREFIX.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Digit runs of a card's length, optionally grouped by single spaces or dashes. */
const CARD_CANDIDATE = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;

export function redactCards(text: string): string {
  if (!/\d{4}/.test(text)) return text;
  return text.replace(CARD_CANDIDATE, (m) => (isCardNumber(m.replace(/[ -]/g, '')) ? REDACTED : m));
}

/** A container on the scanner's way down: its key (objects) or index (arrays) so far. */
interface Level {
  isArray: boolean;
  index: number;
  key: string | undefined;
}

/** Whether the value at `stack` is named by one of `paths` (no allocation: this runs for every value). */
function pathMatches(paths: BodyRedactionRules['paths'], stack: readonly Level[]): boolean {
  outer: for (const p of paths) {
    if (p.length !== stack.length) continue;
    for (let i = 0; i < p.length; i++) {
      const s = stack[i]!;
      if (p[i] !== '*' && p[i] !== (s.isArray ? String(s.index) : (s.key ?? ''))) continue outer;
    }
    return true;
  }
  return false;
}

/** Index just past the JSON string starting at `i` (a quote), or text.length when it is cut. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return text.length;
}

/**
 * What ends a bare scalar, and what the scanner skips between tokens: every `\s` character, not
 * only JSON's four. The two must agree: a character that ends a scalar but is not skipped (`\v`,
 * `\f`, U+00A0, a leading U+FEFF byte-order mark) once gave a zero-length value and the scanner
 * never moved on — a JSON-looking body with one, seen by a tap with bodies, spun the JS thread for
 * good (the js engine stopped forwarding; regression: test/differential-http1.test.ts).
 */
const SCALAR_END = /[,}\]\s]/;
const WHITESPACE = /\s/;

/** Index just past the JSON value starting at `i` (scalar, string, object or array; cut: text.length); always > i. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = stringEnd(text, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i + 1;
  while (j < text.length && !SCALAR_END.test(text[j]!)) j++;
  return j;
}

/** The text a JSON value stands for: a string's contents (unescaped where it can be), else the value as written. */
function jsonValueText(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  const inner = raw.length > 1 && raw.endsWith('"') ? raw.slice(1, -1) : raw.slice(1);
  if (inner.indexOf('\\') < 0) return inner;
  try {
    return JSON.parse(`"${inner}"`) as string;
  } catch {
    return inner;
  }
}

/**
 * Rewrites secret values of a JSON text in place (tolerant of a cut-off end). `found`, when given,
 * is told each value redacted by name or path (so the event can scrub it from its other fields).
 */
export function redactJson(text: string, rules: BodyRedactionRules, found?: (value: string) => void): string {
  const out: string[] = [];
  let copied = 0;
  const replace = (from: number, to: number, withText: string) => {
    out.push(text.slice(copied, from), withText);
    copied = to;
  };
  // Containers: keys (objects) or indices (arrays) on the way down.
  const stack: Level[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
      continue;
    }
    if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.isArray) top.index++;
      expectKey = top !== undefined && !top.isArray;
      continue;
    }
    if (c === ':' || c === ' ' || c === '\n' || c === '\r' || c === '\t' || WHITESPACE.test(c)) continue;
    const top = stack[stack.length - 1];
    if (expectKey && c === '"') {
      const end = stringEnd(text, i);
      if (top) top.key = text.slice(i + 1, end - 1);
      expectKey = false;
      i = end - 1;
      continue;
    }
    // A value: secret by its key's name or its path, else scanned for card numbers. Its end is
    // found only where it is skipped whole (a secret, a scalar): finding the end of every
    // container entered made nested bodies quadratic (`[` x 64 KiB: 16 s of the JS thread).
    const name = top && !top.isArray ? top.key?.toLowerCase() : undefined;
    if ((name !== undefined && rules.fields.has(name)) || (rules.paths.length > 0 && pathMatches(rules.paths, stack))) {
      const end = valueEnd(text, i);
      if (found) found(jsonValueText(text.slice(i, end)));
      replace(i, end, `"${REDACTED}"`);
      i = end - 1;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push({ isArray: c === '[', index: 0, key: undefined });
      expectKey = c === '{';
      continue;
    }
    const end = valueEnd(text, i);
    if (rules.cards && (c === '"' || (c >= '0' && c <= '9'))) {
      const scalar = text.slice(i, end);
      const redacted = redactCards(scalar);
      if (redacted !== scalar) replace(i, end, c === '"' ? redacted : `"${REDACTED}"`);
    }
    i = end - 1;
  }
  if (copied === 0) return text;
  out.push(text.slice(copied));
  return out.join('');
}

/** Rewrites secret values of an `application/x-www-form-urlencoded` text (`found`: as for redactJson, values as sent). */
export function redactForm(text: string, rules: BodyRedactionRules, found?: (value: string) => void): string {
  let changed = false;
  const parts = text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let key = pair.slice(0, eq);
    try {
      key = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch {
      // keep it raw
    }
    if (rules.fields.has(key.toLowerCase())) {
      changed = true;
      if (found) found(pair.slice(eq + 1));
      return `${pair.slice(0, eq)}=${REDACTED}`;
    }
    if (!rules.cards) return pair;
    let value = pair.slice(eq + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep it raw
    }
    if (redactCards(value) === value) return pair;
    changed = true;
    return `${pair.slice(0, eq)}=${REDACTED}`;
  });
  return changed ? parts.join('&') : text;
}

const FORM_SHAPE = /^[^=&\s{["]+=[^&\s]*(&[^=&\s]+=[^&\s]*)*&?$/;

/**
 * Whether a body sent with these headers is compressed (or otherwise re-coded): a
 * `Content-Encoding`, a transfer coding other than `chunked` (HTTP/1) or a `grpc-encoding`
 * other than `identity`, in any of the headers of that name. Its bytes hold the text in a form
 * no scan can redact.
 */
export function isEncodedBody(headers: HeaderList | undefined): boolean {
  if (headers === undefined) return false;
  for (const [k, v] of headers) {
    const n = k.toLowerCase();
    if ((n === 'content-encoding' || n === 'grpc-encoding') && listCodings([v]).some((c) => c !== 'identity')) return true;
    if (n === 'transfer-encoding' && listCodings([v]).some((c) => c !== 'identity' && c !== 'chunked')) return true;
  }
  return false;
}

/** The decoded output of a coded body is bounded by the sidecar's body limit (this is its default). */
export const DEFAULT_DECODED_BODY_CAP = 64 * 1024;

/** How a coded body is decoded for a viewer: its output bound, and whether it is a gRPC body (coded per message). */
export interface BodyDecoding {
  cap: number;
  grpc: boolean;
  /** The decoded output reached the cap (a bound hit: counted by the hub). */
  onCapped?: () => void;
  /** The sidecar's decoding time (one per hub); spent: the body is withheld (`omitted: 'decode-budget'`). */
  budget?: DecodeBudget;
  /** A body was withheld for the budget (a bound hit: counted by the hub). */
  onBudgetSpent?: () => void;
}

/**
 * Milliseconds of the sidecar's JS thread that coded bodies may take to decode in a second. A
 * body costs 10-120 µs to decode (whole JSON), 1-2 ms over the body limit, ~10 ms for a brotli bomb
 * (bench/REPORT-bodies16-decode.md): a client sending bombs while a tap with bodies is attached
 * would otherwise take the thread that, on the js engine, forwards its traffic. 50 ms a second is
 * hundreds of ordinary bodies; past it a coded body is withheld, counted
 * (meshtap_bound_hit_total{bound="decode-budget"}), until the next second.
 */
export const DECODE_BUDGET_MS_PER_SECOND = 50;

/** Decoding time per second (a window that starts again a second after it began). */
export class DecodeBudget {
  private windowStart = -Infinity;
  private spentMs = 0;

  constructor(
    private readonly msPerSecond = DECODE_BUDGET_MS_PER_SECOND,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a decode may start now. */
  allows(): boolean {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.spentMs = 0;
    }
    return this.spentMs < this.msPerSecond;
  }

  spend(ms: number): void {
    this.spentMs += ms;
  }
}


/**
 * A coded body (isEncodedBody) decoded so it can be scrubbed and shown (`decoded` says from what),
 * or undefined when it cannot be: a coding other than gzip, x-gzip, deflate and br (gRPC: gzip and
 * deflate messages), more than two, bytes that do not decode. A gRPC body whose messages were none
 * of them compressed is the body itself (its bytes are the messages as sent).
 */
export function decodeCodedBody(body: TapBody, headers: HeaderList | undefined, d: BodyDecoding): TapBody | undefined {
  const bytes = Buffer.from(body.data, body.encoding);
  const codings = bodyCodings(headers);
  const grpcEncoding = grpcEncodingOf(headers);
  if (d.grpc) {
    if (codings.length > 0 || grpcEncoding === undefined) return undefined;
    const r = decodeGrpcFrames(bytes, grpcEncoding, body.truncated, d.cap);
    if (r === undefined) return undefined;
    if (r.capped) d.onCapped?.();
    return r.decoded ? decodedTapBody(r.bytes, body.size, r.truncated, grpcEncoding, false) : body;
  }
  if (grpcEncoding !== undefined) return undefined;
  const r = decodeCodings(bytes, codings, body.truncated, d.cap);
  if (r === undefined) return undefined;
  if (r.capped) d.onCapped?.();
  return decodedTapBody(r.bytes, body.size, r.truncated, codings.join(', '));
}

/**
 * A body with secrets redacted per `rules` (the same object when nothing changed). JSON by
 * content type or by shape (`{`/`[`), forms by content type or by shape (`a=b&c=d`), else card
 * numbers in any text. Binary (base64) bodies are left alone (field names mean nothing there),
 * but text that is not UTF-8 as captured is redacted in its bytes (see below).
 * A compressed body (isEncodedBody) is decoded first (decodeCodedBody, bounded by `decoding.cap`
 * and the sidecar's `decoding.budget`) and redacted as any body of its type, marked `decoded`; one
 * that cannot be decoded is withheld (`omitted: 'encoded'`; `decode-budget` past the budget): a secret field or an echoed credential inside gzip bytes reads in full
 * once the viewer inflates them (review15). `found` is told the values redacted by field name or
 * path (not card numbers).
 */
export function redactBody(
  body: TapBody,
  contentType: string | undefined,
  rules: BodyRedactionRules,
  found?: (value: string) => void,
  headers?: HeaderList,
  decoding: BodyDecoding = { cap: DEFAULT_DECODED_BODY_CAP, grpc: false },
): TapBody {
  if (body.data === '') return body;
  if (isEncodedBody(headers) || (decoding.grpc && hasCompressedMessage(body))) {
    const budget = decoding.budget;
    if (budget !== undefined && !budget.allows()) {
      decoding.onBudgetSpent?.();
      return { size: body.size, truncated: body.size > 0, encoding: 'utf8', data: '', omitted: 'decode-budget' };
    }
    const started = budget === undefined ? 0 : performance.now();
    const decoded = decodeCodedBody(body, headers, decoding);
    budget?.spend(performance.now() - started);
    if (decoded === undefined) return { size: body.size, truncated: body.size > 0, encoding: 'utf8', data: '', omitted: 'encoded' };
    body = decoded;
    if (body.data === '') return body;
  }
  const ct = (contentType ?? '').toLowerCase();
  if (body.encoding !== 'utf8') {
    // Text that is not UTF-8 as captured (a Latin-1 byte in JSON, or a capture cut inside a
    // character) is sent as base64, and a viewer decodes it: its fields are redacted in the bytes'
    // Latin-1 view (field names and JSON/form syntax are ASCII), and the bytes re-made from it.
    const bytes = Buffer.from(body.data, 'base64');
    if (!isTextLike(bytes)) return body;
    const view = bytes.toString('latin1');
    const data = redactText(view, ct, rules, found === undefined ? undefined : (v) => found(asUtf8(v)));
    return data === view ? body : { ...body, data: Buffer.from(data, 'latin1').toString('base64') };
  }
  const data = redactText(body.data, ct, rules, found);
  return data === body.data ? body : { ...body, data };
}

/**
 * Whether a gRPC body holds a message marked compressed (flag 1). Without a grpc-encoding other than
 * identity that is a peer's protocol error, but its bytes may be gzip a viewer inflates (review16):
 * such a body is withheld as a coded one that cannot be decoded.
 */
function hasCompressedMessage(body: TapBody): boolean {
  return hasCompressedGrpcFrame(Buffer.from(body.data, body.encoding));
}

/**
 * Whether gRPC message bytes (length-prefixed frames, maybe cut), in one buffer or in the chunks of a
 * capture, hold a frame whose flag says compressed. Only each frame's flag and length are read.
 */
export function hasCompressedGrpcFrame(bytes: Buffer | readonly Buffer[]): boolean {
  const chunks = Buffer.isBuffer(bytes) ? [bytes] : bytes;
  let total = 0;
  for (const c of chunks) total += c.length;
  let chunk = 0;
  let base = 0; // offset of chunks[chunk] in the whole
  const byteAt = (at: number): number => {
    while (at >= base + chunks[chunk]!.length) base += chunks[chunk++]!.length;
    return chunks[chunk]![at - base]!;
  };
  for (let at = 0; at + 5 <= total; ) {
    if ((byteAt(at) & 1) !== 0) return true;
    at += 5 + ((byteAt(at + 1) << 24) >>> 0) + (byteAt(at + 2) << 16) + (byteAt(at + 3) << 8) + byteAt(at + 4);
  }
  return false;
}

/** A body's text with its secret fields (JSON, form) or card numbers redacted, by its content type (lower case) or shape. */
function redactText(text: string, ct: string, rules: BodyRedactionRules, found?: (value: string) => void): string {
  const trimmed = text.trimStart();
  if (ct.includes('json') || trimmed.startsWith('{') || trimmed.startsWith('[')) return redactJson(text, rules, found);
  // FORM_SHAPE needs an `=`: a body without one (most text) skips the regex's scan of it.
  if (ct.includes('x-www-form-urlencoded') || (text.indexOf('=') >= 0 && FORM_SHAPE.test(text))) return redactForm(text, rules, found);
  return rules.cards ? redactCards(text) : text;
}

/**
 * Whether bytes read as text: no control byte but tab, line feed and carriage return. A protobuf or
 * gRPC frame has them (tags, lengths, the frame's flag and length prefix); JSON, forms and text do not.
 */
function isTextLike(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return false;
  }
  return true;
}

/** A value found in a Latin-1 view, as the text it is when its bytes are UTF-8 (so other fields are scrubbed of it as they spell it). */
function asUtf8(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : latin1;
}

/**
 * A body with the event's hidden values (tap-protocol/redact-values.ts) scrubbed from its text
 * (the same object when none occurs). A binary (base64) body is scrubbed in its bytes: a value
 * echoed in a protobuf message or any binary frame is the value's UTF-8 bytes there, which a
 * viewer reads once the base64 is decoded (a gRPC message of 128 bytes or more is seldom valid
 * UTF-8, so it travels as base64).
 *
 * Binary bodies, and every body of a gRPC exchange (`framed`), keep their length: a value as
 * written becomes `[redacted]` repeated and cut to the value's byte length, so the length
 * prefixes of protobuf fields and gRPC frames still hold and recordings, mock and replay read the
 * later messages (review15). Other spellings of a value (escaped, percent-encoded), rare in
 * binary, are then searched in a Latin-1 view of the bytes (one character per byte, the values'
 * UTF-8 bytes spelled the same way) and replaced as in text.
 */
export function scrubBody(body: TapBody, secrets: readonly string[], framed = false): TapBody {
  if (body.data === '') return body;
  if (body.encoding === 'utf8' && !framed) {
    const data = scrubText(body.data, secrets);
    return data === body.data ? body : { ...body, data };
  }
  const bytes = Buffer.from(body.data, body.encoding);
  const masked = maskInPlace(bytes, secrets);
  const view = bytes.toString('latin1');
  // The values' UTF-8 bytes as Latin-1 (found as written, JSON-escaped) and the values themselves
  // (found where a percent view decodes UTF-8 escapes back into characters).
  const asBytes = secrets.map((v) => Buffer.from(v, 'utf8').toString('latin1'));
  // Other spellings are masked to their own length too (review16: a `\/` or `%2F` spelling in a
  // protobuf string field became the 10 bytes of [redacted] and the frame's prefix lied again).
  const scrubbed = scrubText(view, asBytes.some((b, i) => b !== secrets[i]) ? [...asBytes, ...secrets] : asBytes, true);
  if (!masked && scrubbed === view) return body;
  return { ...body, data: Buffer.from(scrubbed, 'latin1').toString(body.encoding) };
}

/** Overwrites each occurrence of a value's UTF-8 bytes with `[redacted]` cut to its length; whether any was found. */
function maskInPlace(bytes: Buffer, secrets: readonly string[]): boolean {
  let found = false;
  for (const v of secrets) {
    const needle = Buffer.from(v, 'utf8');
    if (needle.length === 0) continue;
    const mask = Buffer.from(lengthMask(needle.length), 'latin1');
    for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + needle.length)) {
      mask.copy(bytes, at);
      found = true;
    }
  }
  return found;
}

/** A JSON string's escapes (`\/`, `\u002B`) and HTML references (`&#x2F;`) are spellings too (review14). */
function scrubText(text: string, secrets: readonly string[], keepLength = false): string {
  return scrubEscapedSecrets(scrubSecrets(text, secrets, keepLength), secrets, keepLength);
}
