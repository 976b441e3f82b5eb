/**
 * An event as one viewer may see it (the grant's `reveal`): sensitive headers as `[redacted]`,
 * secret-named query parameters as `[redacted]` in the path and in every header value (`:path`,
 * `Referer`, `Location`, …), and the hidden values (redact-values.ts) scrubbed from the path,
 * every header value and `grpcMessage`. The tap hub's `shape` makes what leaves the sidecar with
 * it (live taps, history, and so recordings, HAR, the dashboard), adding bodies; filters test the
 * same view (`filterView`), so a `--path` or `--header` filter cannot confirm a guessed secret.
 *
 * What reveals what: a sensitive header is revealed by its name in the grant (`--reveal-header
 * authorization`) or by `*`; a secret-named query parameter, like a secret body field, only by
 * `*`. A value the viewer sees through a revealed header is not scrubbed elsewhere (it is no
 * secret to them). `reveal: 'all'` shows the event as it was.
 *
 * Cost: the common case (no sensitive header, no `?` in any value) allocates nothing and returns
 * the event itself; header names are compared case-insensitively in place, never lower-cased.
 */
import { REDACTED, type HeaderList, type TapEvent } from './events.js';
import { queryNames, redactQuerySecrets, type QueryNames } from './redact-query.js';
import { headerSecrets, MIN_SECRET_CHARS, scrubSecrets, SecretSet } from './redact-values.js';

/** Header names (lower case) shown unredacted; `all` reveals every header and every secret. */
export type Reveal = ReadonlySet<string> | 'all';

/** What is secret on one sidecar: its sensitive headers and its secret query parameter names. */
export interface SecretPolicy {
  /** Lower-case names of the headers redacted unless revealed. */
  readonly sensitive: ReadonlySet<string>;
  readonly query: QueryNames;
  /** The sensitive names by length (index), for a case-insensitive comparison that allocates nothing. */
  readonly sensitiveByLength: ReadonlyArray<readonly string[] | undefined>;
  /** Called when an event held more hidden values than are scrubbed (MAX_SCRUBBED_SECRETS). */
  readonly onBoundHit?: () => void;
  /**
   * Header lists found to hold nothing to hide (no sensitive header, no secret query parameter in
   * any value), the last CLEAN_LISTS of them: an exchange's `req`, `rsp` and `end` events carry the
   * same request header list (and a client's repeated head one list, native-observation.ts), so the
   * scan of each event re-read it; a list is never changed once made (observers assign whole lists).
   */
  readonly cleanLists: Array<HeaderList | undefined>;
}

/** How many clean header lists a policy remembers (an exchange's request, response and trailers, and one more). */
const CLEAN_LISTS = 4;

export function secretPolicy(sensitiveHeaders: Iterable<string>, queryParams: Iterable<string>, onBoundHit?: () => void): SecretPolicy {
  const sensitive = new Set([...sensitiveHeaders].map((h) => h.toLowerCase()));
  const sensitiveByLength: string[][] = [];
  for (const h of sensitive) (sensitiveByLength[h.length] ??= []).push(h);
  return { sensitive, query: queryNames(queryParams), sensitiveByLength, onBoundHit, cleanLists: new Array<HeaderList | undefined>(CLEAN_LISTS).fill(undefined) };
}

/** The lower-case name of a sensitive header (`name` compared ASCII case-insensitively, not lower-cased), or undefined. */
function sensitiveName(name: string, policy: SecretPolicy): string | undefined {
  const candidates = policy.sensitiveByLength[name.length];
  if (candidates === undefined) return undefined;
  outer: for (const lower of candidates) {
    for (let k = 0; k < lower.length; k++) {
      const c = name.charCodeAt(k);
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(k)) continue outer;
    }
    return lower;
  }
  return undefined;
}

/** What `collectSecrets` returns for an event with nothing to hide at all (no sensitive header, no secret parameter). */
export const NOTHING_HIDDEN: readonly string[] = Object.freeze([]);

/**
 * The values hidden from this viewer that must not show elsewhere in `e` (longest first), or
 * undefined when there are none: the secret parts of every sensitive header it does not reveal,
 * and (unless `all`) the values of secret-named query parameters in the path and header values.
 * NOTHING_HIDDEN when the event holds no sensitive header and no secret parameter (the common
 * case: then `redactEventSecrets` returns the event at once, one pass over the headers in all).
 */
export function collectSecrets(e: TapEvent, policy: SecretPolicy, reveal: Reveal): readonly string[] | undefined {
  if (reveal === 'all') return NOTHING_HIDDEN;
  collecting = undefined;
  seen = undefined;
  found = false;
  sawCookie = false;
  // Past MAX_SCRUBBED_SECRETS the values found first are the ones scrubbed: headers, the path, cookies.
  scanHeaders(e.requestHeaders, policy, reveal, false);
  scanHeaders(e.responseHeaders, policy, reveal, false);
  scanHeaders(e.trailers, policy, reveal, false);
  scanHeaders(e.requestTrailers, policy, reveal, false);
  redactQuerySecrets(e.path, policy.query, addSecret);
  if (sawCookie) {
    scanHeaders(e.requestHeaders, policy, reveal, true);
    scanHeaders(e.responseHeaders, policy, reveal, true);
  }
  const set = collecting as SecretSet | undefined;
  const revealed = seen as string[] | undefined;
  collecting = undefined;
  seen = undefined;
  if (!found) return NOTHING_HIDDEN;
  if (set === undefined) return undefined;
  if (set.isFull) policy.onBoundHit?.();
  if (revealed) for (const s of revealed) set.remove(s);
  return set.values.length > 0 ? set.values : undefined;
}

// The collection in progress (module state, not closures: the common case allocates nothing).
/** Bumped by everything a scan finds (a secret, a revealed value, a sensitive header): unchanged over a list = clean. */
let touches = 0;
let collecting: SecretSet | undefined;
let seen: string[] | undefined;
/** Whether a cookie header was seen (its values are collected in a second pass). */
let sawCookie = false;
/** Whether anything at all is hidden (a sensitive header or a secret parameter, however short its value). */
let found = false;
function addSecret(s: string): void {
  touches++;
  found = true;
  if (s.length < MIN_SECRET_CHARS) return;
  collecting ??= new SecretSet();
  collecting.add(s);
}
function addSeen(s: string): void {
  touches++;
  (seen ??= []).push(s);
}

/**
 * One header list's secrets. Cookie values come last (`cookies`: a second pass, made only when a
 * cookie header was seen): a request with many cookies must not crowd an `Authorization`
 * credential out of MAX_SCRUBBED_SECRETS.
 */
function scanHeaders(list: HeaderList | undefined, policy: SecretPolicy, reveal: ReadonlySet<string>, cookies: boolean): void {
  if (!list || list.length === 0) return;
  // A clean list adds nothing whatever the viewer reveals (it has no sensitive header): not scanned again.
  const clean = policy.cleanLists;
  for (let k = 0; k < clean.length; k++) if (clean[k] === list) return;
  const before = touches;
  for (let i = 0; i < list.length; i++) {
    const h = list[i]!;
    const name = h[0];
    const value = h[1];
    const lower = sensitiveName(name, policy);
    if (lower !== undefined) touches++;
    const isCookie = lower === 'cookie' || lower === 'set-cookie';
    if (isCookie) sawCookie = true;
    if (cookies !== isCookie) continue;
    if (lower === undefined) redactQuerySecrets(value, policy.query, addSecret);
    else if (reveal.has(lower)) headerSecrets(lower, value, addSeen);
    else {
      found = true;
      headerSecrets(lower, value, addSecret);
    }
  }
  if (!cookies && touches === before) {
    clean.copyWithin(1, 0, clean.length - 1);
    clean[0] = list;
  }
}

/**
 * `hidden` (from collectSecrets) with `more` values added: the values of secret body fields
 * (proxy/body-redact.ts), known only once the bodies were redacted. Same bounds as collectSecrets.
 */
export function addSecrets(hidden: readonly string[] | undefined, more: readonly string[], policy: SecretPolicy): readonly string[] | undefined {
  const set = new SecretSet();
  if (hidden) for (const s of hidden) set.add(s);
  for (const s of more) set.add(s);
  if (set.isFull) policy.onBoundHit?.();
  if (set.values.length > 0) return set.values;
  return hidden === NOTHING_HIDDEN ? NOTHING_HIDDEN : hidden;
}

/** One header list as the viewer sees it (the same list when nothing changed). */
function redactList(list: HeaderList | undefined, policy: SecretPolicy, reveal: ReadonlySet<string>, secrets: readonly string[] | undefined): HeaderList | undefined {
  if (!list) return list;
  let out: HeaderList | undefined;
  for (let i = 0; i < list.length; i++) {
    const h = list[i]!;
    const name = h[0];
    const value = h[1];
    const lower = sensitiveName(name, policy);
    let v: string;
    if (lower !== undefined && !reveal.has(lower)) v = REDACTED;
    else {
      v = lower === undefined ? redactQuerySecrets(value, policy.query) : value;
      if (secrets) v = scrubSecrets(v, secrets);
    }
    if (v === value) continue;
    out ??= list.slice();
    out[i] = [name, v];
  }
  return out ?? list;
}

/**
 * `e` without what `reveal` does not show, bodies aside (the hub redacts and scrubs those with
 * `secrets`, from `collectSecrets`). Returns `e` itself when nothing changed, else a shallow copy.
 */
export function redactEventSecrets(e: TapEvent, policy: SecretPolicy, reveal: Reveal, secrets: readonly string[] | undefined): TapEvent {
  if (reveal === 'all' || secrets === NOTHING_HIDDEN) return e;
  let path = redactQuerySecrets(e.path, policy.query);
  if (secrets) path = scrubSecrets(path, secrets);
  // The authority as the Host / :authority header shows it: a hidden value there (a token as a
  // tenant's subdomain) was scrubbed from the header and shown in this field (review9).
  const authority = secrets ? scrubSecrets(e.authority, secrets) : e.authority;
  // Method and scheme too, as their :method / :scheme headers show them (a custom method is any token).
  const method = secrets ? scrubSecrets(e.method, secrets) : e.method;
  const scheme = secrets ? scrubSecrets(e.scheme, secrets) : e.scheme;
  const rq = redactList(e.requestHeaders, policy, reveal, secrets);
  const rs = redactList(e.responseHeaders, policy, reveal, secrets);
  const tr = redactList(e.trailers, policy, reveal, secrets);
  const rqt = redactList(e.requestTrailers, policy, reveal, secrets);
  const grpcMessage = secrets && e.grpcMessage !== undefined ? scrubSecrets(e.grpcMessage, secrets) : e.grpcMessage;
  if (path === e.path && authority === e.authority && method === e.method && scheme === e.scheme && rq === e.requestHeaders && rs === e.responseHeaders && tr === e.trailers && rqt === e.requestTrailers && grpcMessage === e.grpcMessage) return e;
  const out: TapEvent = { ...e, path, authority, method, scheme };
  if (rq) out.requestHeaders = rq;
  if (rs) out.responseHeaders = rs;
  if (tr) out.trailers = tr;
  if (rqt) out.requestTrailers = rqt;
  if (grpcMessage !== undefined) out.grpcMessage = grpcMessage;
  return out;
}

/** The event a filter of this viewer tests: what they would be shown (bodies are never filtered on). */
export function filterView(e: TapEvent, policy: SecretPolicy, reveal: Reveal): TapEvent {
  return reveal === 'all' ? e : redactEventSecrets(e, policy, reveal, collectSecrets(e, policy, reveal));
}
