/**
 * Parsing of complete HTTP/1 heads (RFC 9112 §3, §4, §5) into plain values.
 *
 * Expected failures are results, not throws: a malformed head is a normal thing to meet on
 * the wire and costs only that connection's observation. Names keep their case and fields
 * keep wire order (transparency: the tap shows what was sent). Field values and the request
 * target are decoded by one rule (../field-text.ts): UTF-8 when valid, and bytes that are not
 * UTF-8 shown escaped, never turned into other characters.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { decodeFieldText } from '../field-text.js';
import type { HeadFacts } from './framing.js';

export type HeadError = 'h1-parse' | 'h1-ambiguous-framing';
export type HeadResult<T> = { ok: true; value: T } | { ok: false; error: HeadError };

/** The empty header list (no trailers, a head not seen yet): shared, and frozen so nobody can fill it. */
export const NO_FIELDS = Object.freeze([]) as unknown as HeaderList;

/**
 * A validated field section (`name: value` lines), kept as the head's text and decoded into a
 * HeaderList only when somebody reads it.
 *
 * Why: every exchange is parsed, but its header list is read only when an event is made (a tap
 * subscriber, a flight-recorder query). A string per name and value and an array per field
 * were the largest share of per-request CPU and of what the flight recorder kept alive; one
 * string per head is not. Validation is still complete up front (a bad head is refused at
 * once, as before), framing facts are found in the same pass, and `count`/`chars` size the
 * list without decoding it.
 */
export interface FieldSection {
  /** The head as latin1 text: a copy (one string), never a view of forwarded bytes. */
  readonly text: string;
  /** Offset of the first field line; the fields end at `text.length - 2` (the empty line). */
  readonly start: number;
  /** Number of fields. */
  readonly count: number;
  /** Sum of name and (decoded) value lengths over the fields. */
  readonly chars: number;
  /** The decoded list, once read (at once when a value was not ASCII). */
  list: HeaderList | undefined;
}

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version of HTTP/1.x. */
  minor: number;
  fields: FieldSection;
  facts: HeadFacts;
}

export interface ResponseHead {
  status: number;
  minor: number;
  fields: FieldSection;
  facts: HeadFacts;
}

const SP = 0x20;
const HTAB = 0x09;

/** RFC 9110 §5.6.2 tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** field-vchar / SP / HTAB / obs-text: anything but controls (HTAB allowed) and DEL. */
function isFieldValueChar(c: number): boolean {
  return (c >= 0x20 && c !== 0x7f) || c === HTAB;
}

/** Request-target at s[from, to): visible ASCII or obs-text, no whitespace or controls. */
function isTarget(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c <= SP || c === 0x7f) return false;
  }
  return true;
}

/** A field value as events show it: UTF-8, bytes that are not UTF-8 escaped (../field-text.ts). */
function decodeValue(latin1: string): string {
  return decodeFieldText(latin1, 'backslash');
}

const COLON = 0x3a;

/** Whether the token at text[from, from + lower.length) is `lower`, ignoring ASCII case. */
function isName(text: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(from + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Framing facts of a head with none of the fields that matter. */
function emptyFacts(): HeadFacts {
  return { host: '', hasHost: false, hasUpgrade: false, contentLength: undefined, transferEncoding: undefined };
}

/** Records a field in `facts` if framing depends on it (names compared case-insensitively). */
function noteFact(facts: HeadFacts, text: string, name: number, nameLen: number, a: number, b: number): void {
  switch (nameLen) {
    case 4:
      if (!facts.hasHost && isName(text, name, 'host')) {
        facts.host = decodeValue(text.slice(a, b));
        facts.hasHost = true;
      }
      break;
    case 7:
      if (isName(text, name, 'upgrade')) facts.hasUpgrade = true;
      break;
    case 14:
      if (isName(text, name, 'content-length')) (facts.contentLength ??= []).push(decodeValue(text.slice(a, b)));
      break;
    case 17:
      if (isName(text, name, 'transfer-encoding')) (facts.transferEncoding ??= []).push(decodeValue(text.slice(a, b)));
      break;
  }
}

/**
 * Validates the field lines of `text` from offset `start` up to the empty line that ends it
 * (`text` ends with CRLF CRLF, as a complete head or trailer section does) and notes framing
 * facts in `facts` when given. Nothing is decoded unless a value is not ASCII.
 */
function scanFieldSection(text: string, start: number, facts: HeadFacts | undefined): HeadResult<FieldSection> {
  const limit = text.length - 2;
  let count = 0;
  let chars = 0;
  let isAscii = true;
  let pos = start;
  while (pos < limit) {
    const end = text.indexOf('\r\n', pos);
    const first = text.charCodeAt(pos);
    if (first === SP || first === HTAB) return { ok: false, error: 'h1-ambiguous-framing' }; // obs-fold
    // The name is a token up to the first colon; no whitespace is allowed before it (RFC 9112 §5.1).
    let colon = pos;
    for (; colon < end; colon++) {
      const c = text.charCodeAt(colon);
      if (c >= 128 || TCHAR[c] === 0) break;
    }
    if (colon === pos || colon === end || text.charCodeAt(colon) !== COLON) return { ok: false, error: 'h1-parse' };
    let a = colon + 1;
    let b = end;
    while (a < b && (text.charCodeAt(a) === SP || text.charCodeAt(a) === HTAB)) a++;
    while (b > a && (text.charCodeAt(b - 1) === SP || text.charCodeAt(b - 1) === HTAB)) b--;
    for (let j = a; j < b; j++) {
      const c = text.charCodeAt(j);
      if (c < 0x20) {
        if (c !== HTAB) return { ok: false, error: 'h1-parse' };
      } else if (c >= 0x7f) {
        if (c === 0x7f) return { ok: false, error: 'h1-parse' };
        isAscii = false;
      }
    }
    if (facts !== undefined) noteFact(facts, text, pos, colon - pos, a, b);
    count++;
    chars += colon - pos + (b - a);
    pos = end + 2;
  }
  if (isAscii) return { ok: true, value: { text, start, count, chars, list: undefined } };
  // A non-ASCII value reads as UTF-8 when it is valid UTF-8, which changes its length: decode now.
  const list = decodeFieldLines(text, start);
  let decodedChars = 0;
  for (const [name, value] of list) decodedChars += name.length + value.length;
  return { ok: true, value: { text, start, count, chars: decodedChars, list } };
}

/** Decodes field lines already validated by `scanFieldSection`. */
function decodeFieldLines(text: string, start: number): HeaderList {
  const headers: HeaderList = [];
  const limit = text.length - 2;
  let pos = start;
  while (pos < limit) {
    const end = text.indexOf('\r\n', pos);
    const colon = text.indexOf(':', pos);
    let a = colon + 1;
    let b = end;
    while (a < b && (text.charCodeAt(a) === SP || text.charCodeAt(a) === HTAB)) a++;
    while (b > a && (text.charCodeAt(b - 1) === SP || text.charCodeAt(b - 1) === HTAB)) b--;
    headers.push([text.slice(pos, colon), decodeValue(text.slice(a, b))]);
    pos = end + 2;
  }
  return headers;
}

/** The header list of a section, decoded on first call and kept. */
export function fieldList(section: FieldSection): HeaderList {
  return (section.list ??= decodeFieldLines(section.text, section.start));
}

/** Parses a complete trailer section (latin1 text: field lines then the empty line) into a list, eagerly. */
export function parseFieldSection(section: string): HeadResult<HeaderList> {
  const scanned = scanFieldSection(section, 0, undefined);
  return scanned.ok ? { ok: true, value: fieldList(scanned.value) } : scanned;
}

/** Parses `HTTP/1.x` at text[from, end); returns the minor version or -1. */
function parseVersion(text: string, from: number, end: number): number {
  if (end - from !== 8 || !text.startsWith('HTTP/1.', from)) return -1;
  const d = text.charCodeAt(from + 7) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

/**
 * Parses a request head: `method SP request-target SP HTTP/1.x` then field lines. `text` is
 * the head as latin1 text, as `HeadReader` gives it.
 */
export function parseRequestHead(text: string): HeadResult<RequestHead> {
  const lineEnd = text.indexOf('\r\n');
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 || sp1 > lineEnd ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > lineEnd || !isToken(text, 0, sp1)) return { ok: false, error: 'h1-parse' };
  const minor = parseVersion(text, sp2 + 1, lineEnd);
  if (minor < 0 || !isTarget(text, sp1 + 1, sp2)) return { ok: false, error: 'h1-parse' };
  const facts = emptyFacts();
  const fields = scanFieldSection(text, lineEnd + 2, facts);
  if (!fields.ok) return fields;
  const target = decodeFieldText(text.slice(sp1 + 1, sp2), 'percent');
  return { ok: true, value: { method: text.slice(0, sp1), target, minor, fields: fields.value, facts } };
}

/** Parses a response head (latin1 text): `HTTP/1.x SP 3DIGIT [SP reason]` then field lines. */
export function parseResponseHead(text: string): HeadResult<ResponseHead> {
  const lineEnd = text.indexOf('\r\n');
  const minor = lineEnd >= 12 ? parseVersion(text, 0, 8) : -1;
  if (minor < 0 || text.charCodeAt(8) !== SP) return { ok: false, error: 'h1-parse' };
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return { ok: false, error: 'h1-parse' };
    status = status * 10 + d;
  }
  // A missing reason phrase (no SP at all) is common in the wild and harmless; accept it.
  if (lineEnd > 12 && text.charCodeAt(12) !== SP) return { ok: false, error: 'h1-parse' };
  for (let i = 13; i < lineEnd; i++) {
    if (!isFieldValueChar(text.charCodeAt(i))) return { ok: false, error: 'h1-parse' };
  }
  if (status < 100) return { ok: false, error: 'h1-parse' };
  const facts = emptyFacts();
  const fields = scanFieldSection(text, lineEnd + 2, facts);
  if (!fields.ok) return fields;
  return { ok: true, value: { status, minor, fields: fields.value, facts } };
}
