/**
 * Route templates (DESIGN §11): a request path with its variable segments folded into `{id}`,
 * so `/users/123` and `/users/456` are one route, `/users/{id}`, and a route count stays small.
 * gRPC paths (`/package.Service/Method`) are routes as they are.
 *
 * A segment is variable when it is a number, a UUID, a hex id (8+ hex digits with at least one
 * digit, so words such as `deadbeef` or `facade` stay), or a long token (24+ characters of
 * `[A-Za-z0-9_-]` and `+=%~` mixing letters and digits: session ids, base64 and base64url keys,
 * percent-encoded tokens; with dots only when JWT-shaped, `eyJ…` with two dots, so a file name
 * such as `app.bundle.v12345678.js` stays): a route label must never carry a token. The
 * query string and fragment are dropped. One pass over the characters, no regex and no
 * allocation beyond the result: this runs once per request on the data path.
 */

/** Routes longer than this count as `[other]` (a route is a metric label). */
export const MAX_ROUTE_CHARS = 200;
/** The route of a request whose template is not kept (too long, or past the route bound). */
export const OTHER_ROUTE = '[other]';
/** Placeholder for a variable segment. */
export const ID_SEGMENT = '{id}';

const MIN_HEX_ID_CHARS = 8;
const MIN_TOKEN_CHARS = 24;

const enum C {
  Slash = 0x2f,
  Question = 0x3f,
  Hash = 0x23,
  Dash = 0x2d,
  Underscore = 0x5f,
  Dot = 0x2e,
  Plus = 0x2b,
  Equals = 0x3d,
  Percent = 0x25,
  Tilde = 0x7e,
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexLetter = (c: number): boolean => (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);

/** Whether `path[start, end)` is a variable segment. */
function isVariable(path: string, start: number, end: number): boolean {
  const n = end - start;
  if (n === 0) return false;
  let digits = 0;
  let hexLetters = 0;
  let letters = 0;
  let dashes = 0;
  let dots = 0;
  let other = 0;
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (isHexLetter(c)) {
      hexLetters++;
      letters++;
    } else if (isLetter(c)) letters++;
    else if (c === C.Dash) dashes++;
    else if (c === C.Dot) dots++;
    else if (c !== C.Underscore && c !== C.Plus && c !== C.Equals && c !== C.Percent && c !== C.Tilde) other++;
  }
  if (other > 0) return false;
  if (digits === n) return true;
  // 8-4-4-4-12
  if (n === 36 && dashes === 4 && digits + hexLetters === 32) {
    return path.charCodeAt(start + 8) === C.Dash && path.charCodeAt(start + 13) === C.Dash && path.charCodeAt(start + 18) === C.Dash && path.charCodeAt(start + 23) === C.Dash;
  }
  if (n >= MIN_HEX_ID_CHARS && digits > 0 && digits + hexLetters === n) return true;
  if (n < MIN_TOKEN_CHARS || digits === 0 || letters === 0) return false;
  // A JWT (`eyJ` is base64url for `{"`): header.payload.signature.
  return dots === 0 || (dots === 2 && path.startsWith('eyJ', start));
}

/**
 * The route of a request target. `isGrpc`: the path is a gRPC method, kept as is (without a
 * query). Absolute-form targets (`http://host/x`) keep only their path; `*` stays `*`.
 */
export function routeTemplate(target: string, isGrpc = false): string {
  let start = 0;
  let end = target.length;
  if (target.charCodeAt(0) !== C.Slash) {
    if (target === '*') return '*';
    const scheme = target.indexOf('://');
    if (scheme < 0) return OTHER_ROUTE; // authority-form (CONNECT) or garbage
    start = target.indexOf('/', scheme + 3);
    if (start < 0) return '/';
  }
  for (let i = start; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === C.Question || c === C.Hash) {
      end = i;
      break;
    }
  }
  if (isGrpc) {
    if (end - start > MAX_ROUTE_CHARS) return OTHER_ROUTE;
    return start === 0 && end === target.length ? target : target.slice(start, end);
  }
  let out = '';
  let copiedTo = start; // target[start, copiedTo) is already in `out`
  let seg = start + 1;
  for (let i = start + 1; i <= end; i++) {
    if (i < end && target.charCodeAt(i) !== C.Slash) continue;
    if (isVariable(target, seg, i)) {
      out += target.slice(copiedTo, seg) + ID_SEGMENT;
      copiedTo = i;
    }
    seg = i + 1;
  }
  const route = copiedTo === start && start === 0 && end === target.length ? target : out + target.slice(copiedTo, end);
  if (route.length === 0) return '/';
  return route.length > MAX_ROUTE_CHARS ? OTHER_ROUTE : route;
}
