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

/**
 * `scheme://…@` anywhere in a value: a URL whose authority (up to the first `/`, `?`, `#` or
 * white space) holds userinfo. Greedy, so it runs to the authority's last `@`.
 */
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s]*@/g;
/** A network-path reference (`//user:pw@host/x`) as a request target. */
const NETWORK_PATH_USERINFO = /^\/\/[^/?#\s]*@/;

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
  let out = value.replace(URL_USERINFO, `$1${REDACTED}@`);
  if (out.startsWith('//')) out = out.replace(NETWORK_PATH_USERINFO, `//${REDACTED}@`);
  return out;
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
