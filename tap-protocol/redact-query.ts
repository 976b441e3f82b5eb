/**
 * Secrets in query strings (`?access_token=…`, `&api_key=…`, a signed URL's `X-Amz-Signature=…`):
 * the value of a parameter with a well-known secret name reads `[redacted]`, in a request target
 * and in any text holding URLs (`Referer`, `Location`, `Link`, a `next=` parameter's nested URL).
 *
 * Names are the body-field names (proxy/body-redact.ts: one list of "fields that hold secrets",
 * plus `--redact-body-field` names) and the parameters of signed URLs (AWS SigV4, Google Cloud
 * Storage, Azure SAS). `code`, `key` and `state` are left out on purpose: too common as ordinary
 * parameters (`?key=user:1`); a user adds them with `--redact-body-field key`.
 *
 * One pass over the characters, no regex and no allocation unless a value is rewritten: this runs
 * per event on the tap path, and most targets have no `?` or no secret-named parameter. A nested
 * URL percent-encoded once (`redirect=https%3A%2F%2Fx%2F%3Ftoken%3DT`) is read through its
 * `%3F`, `%26` and `%3D`; a name that is itself percent-encoded (`access%5Ftoken`) is decoded.
 */
import { REDACTED } from './events.js';

/** Field names that hold secrets, in bodies and query strings alike (matched case-insensitively). */
export const DEFAULT_SECRET_FIELDS: readonly string[] = [
  'password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'api_key', 'authorization', 'client_secret',
];

/** Query parameters that hold secrets besides DEFAULT_SECRET_FIELDS: API keys, ID tokens and signed URLs. */
export const DEFAULT_SECRET_QUERY_PARAMS: readonly string[] = [
  ...DEFAULT_SECRET_FIELDS,
  'apikey', 'api-key', 'id_token', 'session_token', 'auth', 'sig', 'signature',
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential',
];

/** Secret parameter names, grouped by length for an allocation-free comparison. */
export interface QueryNames {
  readonly byLength: ReadonlyMap<number, readonly string[]>;
}

/** QueryNames of `names` (lower-cased). */
export function queryNames(names: Iterable<string>): QueryNames {
  const byLength = new Map<number, string[]>();
  for (const raw of names) {
    const n = raw.toLowerCase();
    const list = byLength.get(n.length);
    if (!list) byLength.set(n.length, [n]);
    else if (!list.includes(n)) list.push(n);
  }
  return { byLength };
}

const AMP = 0x26;
const SEMI = 0x3b;
const QUESTION = 0x3f;
const HASH = 0x23;
const EQUALS = 0x3d;
const PERCENT = 0x25;

/** Where a URL (and so its query) ends inside a longer text. */
function isUrlEnd(c: number): boolean {
  return c <= 0x20 || c === 0x23 /* # */ || c === 0x3e /* > */ || c === 0x22 /* " */ || c === 0x27 /* ' */ || c === 0x3c /* < */;
}

/** `%XY` at i, as a char code (upper-case hex letters folded), or -1. */
function percentCode(text: string, i: number): number {
  if (text.charCodeAt(i) !== PERCENT || i + 2 >= text.length) return -1;
  const hi = parseHexDigit(text.charCodeAt(i + 1));
  const lo = parseHexDigit(text.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

function parseHexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Length of a parameter separator (`?`, `#`, `&`, `;`, or the %-encoded `?`, `#`, `&`) at i, else 0. */
function separatorAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUESTION || c === AMP || c === SEMI || c === HASH) return 1;
  if (c === PERCENT) {
    const d = percentCode(text, i);
    if (d === QUESTION || d === AMP || d === HASH) return 3;
  }
  return 0;
}

/** Length of the `=` (or `%3D`) at i, else 0. */
function equalsAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === EQUALS) return 1;
  return c === PERCENT && percentCode(text, i) === EQUALS ? 3 : 0;
}

/** Whether text[from, to) names a secret parameter (ASCII case-insensitive; %-encoded names decoded). */
function isSecretName(text: string, from: number, to: number, names: QueryNames): boolean {
  const list = names.byLength.get(to - from);
  if (list) {
    outer: for (const name of list) {
      for (let k = 0; k < name.length; k++) {
        const c = text.charCodeAt(from + k);
        const lower = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        if (lower !== name.charCodeAt(k)) continue outer;
      }
      return true;
    }
  }
  // Rare: an encoded name (`access%5Ftoken`, `api+key`); decoded, then compared.
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === PERCENT || c === 0x2b) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(text.slice(from, to).replace(/\+/g, ' ')).toLowerCase();
      } catch {
        return false;
      }
      return names.byLength.get(decoded.length)?.includes(decoded) ?? false;
    }
  }
  return false;
}

/**
 * `text` with the value of every secret-named query parameter as `[redacted]` (the same string
 * when there is none). Parameters are found after a `?` (or `%3F`) or a `#` (a fragment's, read
 * the same way: review11 F7) and separated by `&`, `;`, `#`, `%26` or `%23`; a value runs to the
 * next `&`, `;`, `%26` or the end of the URL (white space, `#`, `>`, quotes).
 * `visit`, when given, is told each secret value (before it is replaced) instead of rewriting.
 */
export function redactQuerySecrets(text: string, names: QueryNames, visit?: (value: string) => void): string {
  let q = text.indexOf('?');
  if (q < 0) {
    // Without a literal `?` only a %-encoded one (a nested URL) or a fragment may start a query.
    q = text.indexOf('%3');
    if (q >= 0 && percentCode(text, q) !== QUESTION) q = indexOfEncodedQuestion(text, q);
  }
  // A fragment's parameters (`#access_token=…`, OAuth's implicit flow) are read as a query's.
  const hash = text.indexOf('#');
  if (hash >= 0 && (q < 0 || hash < q)) q = hash;
  if (q < 0) return text;
  let parts: string[] | undefined;
  let copied = 0;
  let i = q;
  const n = text.length;
  while (i < n) {
    const sep = separatorAt(text, i);
    if (sep === 0) {
      i++;
      continue;
    }
    // A parameter starts after the separator: its name runs to `=`.
    const nameStart = i + sep;
    let j = nameStart;
    let eq = 0;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (isUrlEnd(c) || separatorAt(text, j) > 0) break;
      eq = equalsAt(text, j);
      if (eq > 0) break;
      j++;
    }
    if (eq === 0 || j === nameStart || !isSecretName(text, nameStart, j, names)) {
      i = j > nameStart ? j : nameStart;
      continue;
    }
    const valueStart = j + eq;
    let k = valueStart;
    while (k < n) {
      const c = text.charCodeAt(k);
      if (isUrlEnd(c) || c === AMP || c === SEMI) break;
      if (c === PERCENT && percentCode(text, k) === AMP) break;
      k++;
    }
    if (k > valueStart && !(k - valueStart === REDACTED.length && text.startsWith(REDACTED, valueStart))) {
      if (visit) visit(text.slice(valueStart, k));
      else {
        parts ??= [];
        parts.push(text.slice(copied, valueStart), REDACTED);
        copied = k;
      }
    }
    i = k;
  }
  if (!parts) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}

/** Index of the first `%3F`/`%3f` at or after `from`, or -1. */
function indexOfEncodedQuestion(text: string, from: number): number {
  for (let i = text.indexOf('%', from); i >= 0; i = text.indexOf('%', i + 1)) if (percentCode(text, i) === QUESTION) return i;
  return -1;
}
