/**
 * Credentials in URLs (`user:password@`), redacted the same way wherever a value can carry
 * one: the event's `authority` and `path`, the `Host` / `:authority` / `:path` headers, URLs
 * inside other header values (`Referer`, `Location`, …), and metric labels. Every event is
 * made through `redactUrlCredentialsInEvent`, so subscribers, the flight recorder, filters
 * (which see only events) and everything downstream (recordings, HAR, CLI output) see the
 * redacted value: a filter on it can never confirm a guessed password.
 *
 * No grant reveals URL credentials: unlike a sensitive header, they sit in fields every viewer
 * sees. The rule is "everything up to the last `@` of the authority", so a password that
 * contains `@` (`user:p@ss@host`) is not left half visible.
 */
import { REDACTED, type HeaderList, type TapEvent } from './events.js';

/** What ends a URL's authority: `/`, `?`, `#` or white space (any `\s`). */
const AUTHORITY_END = /[/?#\s]/;

const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
/** A character of a URL scheme after its first letter (RFC 3986 §3.1). */
const isSchemeChar = (c: number): boolean => isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;

/** Index of the last `@` in the authority starting at `from` (up to AUTHORITY_END or the end), or -1. */
function userinfoEnd(value: string, from: number): number {
  let at = -1;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x40) at = i;
    else if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x80 && AUTHORITY_END.test(value[i]!))) break;
  }
  return at;
}

/**
 * `scheme://…@` anywhere in a value: a URL whose authority (up to the first `/`, `?`, `#` or
 * white space) holds userinfo, up to the authority's last `@`; the userinfo becomes REDACTED.
 * One pass from each `://` (it was the regex `([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s]*@`, which
 * gives the same results but rescans the scheme run from each of its letters: a 60 KiB path of
 * letters after an `@` took 5 s of the JS thread, on every exchange of a js sidecar).
 */
function redactSchemeUserinfo(value: string): string {
  let out = '';
  let copied = 0;
  let from = 0;
  for (let sep = value.indexOf('://'); sep >= 0; sep = value.indexOf('://', from)) {
    // The scheme: the run of scheme characters before `://`, from its first letter (never before `from`).
    let start = sep;
    while (start > from && isSchemeChar(value.charCodeAt(start - 1))) start--;
    while (start < sep && !isLetter(value.charCodeAt(start))) start++;
    const at = start < sep ? userinfoEnd(value, sep + 3) : -1;
    if (at < 0) {
      from = sep + 1;
      continue;
    }
    out += value.slice(copied, sep + 3) + REDACTED;
    copied = at;
    from = at + 1;
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/**
 * An authority (`Host`, `:authority`, the event's `authority`, a metric label): everything up
 * to its last `@` is userinfo. An authority never legitimately holds `@` otherwise.
 */
export function redactAuthority(value: string): string {
  const at = value.lastIndexOf('@');
  return at < 0 ? value : `${REDACTED}${value.slice(at)}`;
}

/** Any text that may hold URLs (a request target, a `Referer` or `Location` value, …). */
export function redactUrlCredentials(value: string): string {
  if (value.indexOf('@') < 0) return value;
  const out = redactSchemeUserinfo(value);
  if (!out.startsWith('//')) return out;
  // A network-path reference (`//user:pw@host/x`) as a request target.
  const at = userinfoEnd(out, 2);
  return at < 0 ? out : `//${REDACTED}${out.slice(at)}`;
}

/** Header names whose whole value is an authority (h1 `Host` in any case, h2 `host` / `:authority`). */
function isAuthorityHeader(lowerName: string): boolean {
  return lowerName === 'host' || lowerName === ':authority';
}

/**
 * A header list with URL credentials redacted from every value (the same list when none has
 * any, so the common case allocates nothing).
 */
export function redactHeaderCredentials(headers: HeaderList): HeaderList;
export function redactHeaderCredentials(headers: HeaderList | undefined): HeaderList | undefined;
export function redactHeaderCredentials(headers: HeaderList | undefined): HeaderList | undefined {
  if (!headers) return headers;
  let out: HeaderList | undefined;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (value.indexOf('@') < 0) continue;
    const redacted = isAuthorityHeader(name.toLowerCase()) ? redactAuthority(value) : redactUrlCredentials(value);
    if (redacted === value) continue;
    out ??= headers.slice();
    out[i] = [name, redacted];
  }
  return out ?? headers;
}

/**
 * The one redaction of URL credentials for a whole event: `authority`, `path`, and every header
 * list. Returns `e` itself when nothing needed redacting; otherwise a shallow copy.
 */
export function redactUrlCredentialsInEvent(e: TapEvent): TapEvent {
  const authority = redactAuthority(e.authority);
  const path = redactUrlCredentials(e.path);
  const rq = redactHeaderCredentials(e.requestHeaders);
  const rs = redactHeaderCredentials(e.responseHeaders);
  const tr = redactHeaderCredentials(e.trailers);
  const rqt = redactHeaderCredentials(e.requestTrailers);
  if (authority === e.authority && path === e.path && rq === e.requestHeaders && rs === e.responseHeaders && tr === e.trailers && rqt === e.requestTrailers) return e;
  const out: TapEvent = { ...e, authority, path };
  if (rq) out.requestHeaders = rq;
  if (rs) out.responseHeaders = rs;
  if (tr) out.trailers = tr;
  if (rqt) out.requestTrailers = rqt;
  return out;
}
