/**
 * Parsing of complete HTTP/1 heads (RFC 9112 §3, §4, §5) into plain values.
 *
 * Expected failures are results, not throws: a malformed head is a normal thing to meet on
 * the wire and costs only that connection's observation. Names keep their case and fields
 * keep wire order (transparency: the tap shows what was sent). Field values are decoded as
 * UTF-8 when they are valid UTF-8 and as latin1 otherwise, so a non-ASCII value reads well
 * when it can and round-trips byte for byte when it cannot.
 */
import type { HeaderList } from '../events.js';

export type HeadError = 'h1-parse' | 'h1-ambiguous-framing';
export type HeadResult<T> = { ok: true; value: T } | { ok: false; error: HeadError };

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version of HTTP/1.x. */
  minor: number;
  headers: HeaderList;
}

export interface ResponseHead {
  status: number;
  minor: number;
  headers: HeaderList;
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

/** Request-target: visible ASCII or obs-text, no whitespace or controls. */
function isTarget(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= SP || c === 0x7f) return false;
  }
  return true;
}

/** Parses `HTTP/1.x`; returns the minor version or -1. */
function parseVersion(s: string, from: number): number {
  if (s.length - from !== 8 || !s.startsWith('HTTP/1.', from)) return -1;
  const d = s.charCodeAt(from + 7) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

const HAS_NON_ASCII = /[\u0080-\u00ff]/;

function decodeValue(latin1: string): string {
  if (!HAS_NON_ASCII.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  const utf8 = bytes.toString('utf8');
  return Buffer.byteLength(utf8) === bytes.length && !utf8.includes('\ufffd') ? utf8 : latin1;
}

/**
 * Parses field lines (`name: value`) of a head or trailer section. `lines` are the head
 * split on CRLF; fields are lines[from .. length-2) (the head ends with an empty line).
 */
export function parseFieldLines(lines: string[], from: number): HeadResult<HeaderList> {
  const headers: HeaderList = [];
  const end = lines.length - 2;
  for (let i = from; i < end; i++) {
    const line = lines[i];
    const first = line.charCodeAt(0);
    if (first === SP || first === HTAB) return { ok: false, error: 'h1-ambiguous-framing' }; // obs-fold
    const colon = line.indexOf(':');
    // No whitespace is allowed between name and colon (RFC 9112 §5.1), so a token check covers it.
    if (colon <= 0 || !isToken(line, 0, colon)) return { ok: false, error: 'h1-parse' };
    let a = colon + 1;
    let b = line.length;
    while (a < b && (line.charCodeAt(a) === SP || line.charCodeAt(a) === HTAB)) a++;
    while (b > a && (line.charCodeAt(b - 1) === SP || line.charCodeAt(b - 1) === HTAB)) b--;
    for (let j = a; j < b; j++) {
      if (!isFieldValueChar(line.charCodeAt(j))) return { ok: false, error: 'h1-parse' };
    }
    headers.push([line.slice(0, colon), decodeValue(line.slice(a, b))]);
  }
  return { ok: true, value: headers };
}

/** Splits a complete head (ending CRLF CRLF) into lines; the last two are empty. */
export function splitHeadLines(head: Buffer): string[] {
  return head.toString('latin1').split('\r\n');
}

/** Parses a request head: `method SP request-target SP HTTP/1.x` then field lines. */
export function parseRequestHead(head: Buffer): HeadResult<RequestHead> {
  const lines = splitHeadLines(head);
  const line = lines[0];
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || !isToken(line, 0, sp1)) return { ok: false, error: 'h1-parse' };
  const target = line.slice(sp1 + 1, sp2);
  const minor = parseVersion(line, sp2 + 1);
  if (minor < 0 || !isTarget(target)) return { ok: false, error: 'h1-parse' };
  const fields = parseFieldLines(lines, 1);
  if (!fields.ok) return fields;
  return { ok: true, value: { method: line.slice(0, sp1), target, minor, headers: fields.value } };
}

/** Parses a response head: `HTTP/1.x SP 3DIGIT [SP reason]` then field lines. */
export function parseResponseHead(head: Buffer): HeadResult<ResponseHead> {
  const lines = splitHeadLines(head);
  const line = lines[0];
  const minor = line.length >= 12 ? parseVersion(line.slice(0, 8), 0) : -1;
  if (minor < 0 || line.charCodeAt(8) !== SP) return { ok: false, error: 'h1-parse' };
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = line.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return { ok: false, error: 'h1-parse' };
    status = status * 10 + d;
  }
  // A missing reason phrase (no SP at all) is common in the wild and harmless; accept it.
  if (line.length > 12 && line.charCodeAt(12) !== SP) return { ok: false, error: 'h1-parse' };
  for (let i = 13; i < line.length; i++) {
    if (!isFieldValueChar(line.charCodeAt(i))) return { ok: false, error: 'h1-parse' };
  }
  if (status < 100) return { ok: false, error: 'h1-parse' };
  const fields = parseFieldLines(lines, 1);
  if (!fields.ok) return fields;
  return { ok: true, value: { status, minor, headers: fields.value } };
}
